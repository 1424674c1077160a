"""Server mode: a real `chroma run` on 127.0.0.1, written to and read through Store and the CLI."""
from __future__ import annotations

import json
import os
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


def test_torchrun_shards_files_across_two_ranks(tmp_path, chroma_server):
    """`torchrun --nproc_per_node 2 -m ingest` on CPU: every file ingested once, by one rank, as a single run would."""
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, lines in (("long.txt", 400), ("mid.md", 150), ("short.txt", 40), ("tiny.txt", 12)):
        (docs / name).write_text("\n".join(f"{name} line {i}: sharded ingestion check" for i in range(lines)))
    (docs / "binary.txt").write_bytes(bytes(range(256)) * 8)
    torchrun = Path(sys.executable).with_name("torchrun")
    server = ["--chroma-host", "127.0.0.1", "--chroma-port", str(chroma_server)]
    sharded = subprocess.run(
        [str(torchrun), "--nproc_per_node", "2", "-m", "ingest", str(docs), *server, "--collection", "sharded",
         "--device", "cpu", "--json"],
        capture_output=True, text=True, timeout=600, cwd=Path(__file__).resolve().parents[1],
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert sharded.returncode == 1, sharded.stderr  # the binary file fails, the rest go in
    summary = json.loads(sharded.stdout)
    assert sorted(Path(e["source"]).name for e in summary["ingested"]) == ["long.txt", "mid.md", "short.txt", "tiny.txt"]
    assert [Path(f["source"]).name for f in summary["failed"]] == ["binary.txt"]
    assert sharded.stderr.count("binary.txt") == 1

    assert ingest_main([str(docs), *server, "--collection", "single", "--device", "cpu", "--json", "-q"]) == 1
    store = Store.open(host="127.0.0.1", port=chroma_server)
    ids = {name: sorted(c.id for c in store.iter_chunks(name)) for name in ("sharded", "single")}
    assert ids["sharded"] == ids["single"] and len(ids["sharded"]) == store.collection("sharded").count()


def test_shards_are_disjoint_balanced_by_bytes_and_cover_all_files(tmp_path):
    from ingest.pipeline import shard_by_size

    files = []
    for i, size in enumerate([9000, 100, 5000, 4000, 50, 30, 20]):
        files.append(tmp_path / f"f{i}.txt")
        files[-1].write_bytes(b"x" * size)
    shards = [shard_by_size(files, rank, 3) for rank in range(3)]
    assert sorted(p for shard in shards for p in shard) == sorted(files)
    loads = sorted(sum(p.stat().st_size for p in shard) for shard in shards)
    assert loads[-1] == 9000 and loads[0] >= 4000


def test_prepare_refuses_to_prune_a_servers_shared_cache(tmp_path, chroma_server, capsys, monkeypatch):
    from app.cli import main as app_main

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))  # the per-user cache a server's DBs share
    (tmp_path / "doc.txt").write_text("\n".join(f"sentence {i} of the pruning test." for i in range(80)))
    server = ["--chroma-host", "127.0.0.1", "--chroma-port", str(chroma_server), "--collection", "srv-prune"]
    assert ingest_main([str(tmp_path / "doc.txt"), *server, "--device", "cpu"]) == 0
    shared = tmp_path / "user-cache" / "nonattn-qa" / "qa-cache" / ("a" * 32 + ".npz")  # another DB's arrays
    shared.parent.mkdir(parents=True)
    shared.write_bytes(b"x")
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        app_main(["prepare", *server, "--device", "cpu", "--prune"])
    assert stop.value.code == 2 and shared.exists()
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: --prune works on an embedded DB") and "\n" not in error
