"""Server mode: a real `chroma run` on 127.0.0.1, written to and read through Store and the CLI."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest.cli import main as ingest_main
from ingest.store import Store


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    chroma = Path(sys.executable).with_name("chroma")
    if not chroma.exists():
        pytest.skip("the chroma CLI is not installed next to python")
    port = free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    process = subprocess.Popen([str(chroma), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while True:
        try:
            Store.open(host="127.0.0.1", port=port)
            break
        except Exception:
            if time.time() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("chroma run did not answer its heartbeat within 60 s")
            time.sleep(0.3)
    yield port
    process.terminate()
    process.wait(timeout=30)


def test_ingest_into_server_then_skip_and_list(tmp_path, chroma_server, capsys):
    (tmp_path / "a.txt").write_text("\n".join(f"line {i} of the server test document" for i in range(120)))
    (tmp_path / "b.md").write_text("# B\n\n" + "\n".join(f"markdown line {i}" for i in range(50)))
    server = ["--chroma-host", "127.0.0.1", "--chroma-port", str(chroma_server), "--collection", "srv"]
    assert ingest_main([str(tmp_path), *server, "--device", "cpu", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert len(first["ingested"]) == 2
    assert ingest_main([str(tmp_path), *server, "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert not again["ingested"] and len(again["skipped"]) == 2

    store = Store.open(host="127.0.0.1", port=chroma_server)
    assert store.collections() == ["srv"]
    records = store.documents("srv")
    assert sum(r.chunks for r in records) == store.collection("srv").count()
    chunk = next(store.iter_chunks("srv"))
    embedding = store.collection("srv").get(ids=[chunk.id], include=["embeddings"])["embeddings"][0]
    assert store.query("srv", list(embedding), k=1)[0].id == chunk.id
