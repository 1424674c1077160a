"""kill -9 in the middle of `python -m ingest`, run it again: the collection ends exactly as after a clean run."""
from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ingest.store import Store

ROOT = Path(__file__).resolve().parents[1]
WORDS = "alpha beta gamma delta model chunk state river mountain book page line reader memory".split()


def run_ingest(docs: Path, db: Path, kill_after: float | None = None) -> int:
    command = [sys.executable, "-m", "ingest", str(docs), "--db", str(db), "--device", "cpu", "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if kill_after is None:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err.decode()
        return 0
    deadline = time.time() + kill_after
    while time.time() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    return process.returncode


def processes_mentioning(marker: str, wait: float = 10.0) -> list[int]:
    """PIDs of live processes whose command line mentions `marker`, after up to `wait` s for them to go."""
    deadline = time.time() + wait
    while True:
        pids = []
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and marker.encode() in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
            except OSError:  # gone meanwhile
                continue
        if not pids or time.time() > deadline:
            return pids
        time.sleep(0.2)


def snapshot(db: Path):
    store = Store.open(db=db)
    got = store.collection("default").get(include=["embeddings", "documents", "metadatas"])
    order = np.argsort(got["ids"])
    records = {r.doc_id: r.chunks for r in store.documents("default")}
    markers = store.internal.get(where={"kind": "pending"})["ids"]
    return ([got["ids"][i] for i in order], np.asarray(got["embeddings"])[order],
            [got["documents"][i] for i in order], records, markers)


def test_kill_and_rerun_matches_clean_run(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    rng = random.Random(0)
    for index in range(8):
        # short documents are written together, long ones alone: the kills can land in either kind of commit
        count = 120 if index % 2 else 420
        text = "\n".join(" ".join(rng.choice(WORDS) for _ in range(10)) for _ in range(count))
        (docs / f"doc{index}.txt").write_text(text)
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    started = time.time()
    run_ingest(docs, clean)
    clean_seconds = time.time() - started
    # Die twice part-way (any instant is a valid one), the second time on top of the first one's leftovers.
    # The clean run also paid one-time costs (cold caches), so a kill at a fixed share of its time can come after
    # a faster second run has finished: then the kill is tried again earlier, on a fresh DB.
    for share in (0.6, 0.4, 0.25, 0.15):
        shutil.rmtree(killed, ignore_errors=True)
        if run_ingest(docs, killed, kill_after=share * clean_seconds) == -signal.SIGKILL and \
                len(Store.open(db=killed).documents("default")) < 8:
            break
    else:
        pytest.fail(f"every kill came after the run had finished (clean run: {clean_seconds:.1f} s)")
    assert processes_mentioning(str(killed)) == []  # its parser processes died with it
    run_ingest(docs, killed, kill_after=0.45 * clean_seconds)
    run_ingest(docs, killed)

    ids_c, emb_c, text_c, records_c, _ = snapshot(clean)
    ids_k, emb_k, text_k, records_k, markers = snapshot(killed)
    assert ids_k == ids_c and len(set(ids_k)) == len(ids_k)
    assert text_k == text_c and np.abs(emb_k - emb_c).max() < 1e-5
    assert records_k == records_c and not markers
    assert sum(records_k.values()) == len(ids_k)  # no chunks without a committed record, no half documents
