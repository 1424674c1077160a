"""A real headless Chromium loads the served UI, asks a question and finds the answer and its page on screen.

Chromium (Debian package `chromium`) is driven over the DevTools protocol with websocket-client: no driver
binary, no Node. Skipped, with the reason, when no Chromium is installed.
"""
from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from itertools import count
from pathlib import Path

import pytest

websocket = pytest.importorskip("websocket", reason="websocket-client is not installed")

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM = next((path for path in map(shutil.which, BROWSERS) if path), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (Debian: apt-get install chromium)")

COLLECTION = "browser-test"
QUESTION = "How do you quit the R program?"


class DevTools:
    """The smallest DevTools-protocol client: send a command, wait for its reply (events are ignored)."""

    def __init__(self, ws_url: str):
        self.ws = websocket.create_connection(ws_url, timeout=30, suppress_origin=True)
        self.ids = count(1)

    def call(self, method: str, **params):
        message_id = next(self.ids)
        self.ws.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 60.0, what: str = ""):
        """Poll a JS expression until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.25)
        text = self.evaluate("document.body ? document.body.innerText.slice(0, 2000) : ''")
        raise AssertionError(f"timed out waiting for {what or expression}; page text:\n{text}")

    def close(self):
        self.ws.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def served(r_intro_pdf, pdf_excerpt, tmp_path_factory):
    """The UI over a store holding R-intro's first 10 pages (q() is on page 9), served on 127.0.0.1."""
    from app.ui import build_app, launch
    from ingest.pipeline import ingest_paths
    from ingest.store import Store

    root = tmp_path_factory.mktemp("browser")
    excerpt = pdf_excerpt(r_intro_pdf, root / "R-intro-excerpt.pdf", 10)
    store = Store.open(db=str(root / "db"))
    summary = ingest_paths([str(excerpt)], store, collection=COLLECTION)
    assert not summary.failed, summary.failed
    app = build_app(store, upload_dir=root / "uploads", default_collection=COLLECTION)
    launch(app, port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        yield app.local_url
    finally:
        app.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless Chromium with remote debugging on a free port; yields a DevTools client on its first tab."""
    profile = tmp_path_factory.mktemp("chromium-profile")
    process = subprocess.Popen(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--remote-debugging-port=0",
         "--remote-allow-origins=*", "--window-size=1280,2000", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        port = _devtools_port(profile / "DevToolsActivePort", process)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
            pages = [target for target in json.load(response) if target["type"] == "page"]
        devtools = DevTools(pages[0]["webSocketDebuggerUrl"])
        devtools.call("Page.enable")
        devtools.call("Runtime.enable")
        yield devtools
        devtools.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _devtools_port(active_port_file: Path, process: subprocess.Popen, timeout: float = 30.0) -> int:
    """Chromium writes the port it chose (for --remote-debugging-port=0) into its profile directory."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"chromium exited with code {process.returncode}")
        if active_port_file.exists():
            first_line = active_port_file.read_text().split("\n")[0].strip()
            if first_line.isdigit():
                return int(first_line)
        time.sleep(0.1)
    raise RuntimeError("chromium did not open its DevTools port")


def test_browser_asks_and_sees_answer_with_page(served, browser):
    browser.call("Page.navigate", url=served)
    browser.wait_for("!!document.querySelector('#question textarea')", what="the question box")
    # The page's load event fills the collection box; asking before that would ask the empty collection.
    browser.wait_for(f"document.querySelector('#collection input')?.value === {json.dumps(COLLECTION)}",
                     what="the collection to be selected")
    browser.evaluate("document.querySelector('#question textarea').focus()")
    browser.call("Input.insertText", text=QUESTION)  # typed as a user would: Gradio sees the input events
    browser.wait_for(f"document.querySelector('#question textarea').value === {json.dumps(QUESTION)}",
                     what="the typed question")
    browser.evaluate("document.querySelector('#ask').click()")

    answer = browser.wait_for("document.querySelector('#answer')?.innerText.includes('Source:') && "
                              "document.querySelector('#answer').innerText", what="the answer")
    assert "q()" in answer and "R-intro-excerpt.pdf, p. 9" in answer, answer
    sources = browser.wait_for("document.querySelector('#sources mark') && "
                               "document.querySelector('#sources').innerText", what="the highlighted sources")
    assert re.search(r"R-intro-excerpt\.pdf, (p\. 9\b|pp\. 9-|pp\. \d+-9\b)", sources), sources
    page = browser.wait_for("document.querySelector('#page-view mark') && "
                            "document.querySelector('#page-view').innerText", what="the cited page")
    assert "R-intro-excerpt.pdf, p. 9" in page and "q()" in page, page
    assert "Traceback" not in browser.evaluate("document.body.innerText")
