"""`nonattn-qa prepare`: the engine's caches computed ahead of the first question, for every document."""
import time
from pathlib import Path

import pytest

from app.cli import main
from app.engine import QAEngine

from test_engine import COLLECTION, build_qa_db


def cache_files(db: str) -> dict[str, list[Path]]:
    cache = Path(db, ".qa-cache")
    return {"spans": sorted(cache.glob("spans/*/*.npz")), "minilm": sorted(cache.glob("minilm/**/*.npz")),
            "bm25": sorted(cache.glob("*.lexical.pkl"))}


def test_prepare_fills_every_cache_the_engine_reads(r_intro_pdf, macbeth_txt, pdf_excerpt, tmp_path, capsys):
    db = build_qa_db(tmp_path, r_intro_pdf, macbeth_txt, pdf_excerpt)
    assert main(["prepare", "--db", db, "--collection", COLLECTION, "--device", "cpu"]) == 0
    assert "prepared" in capsys.readouterr().out
    prepared = cache_files(db)
    assert len(prepared["spans"]) == 2 and len(prepared["minilm"]) == 2 and len(prepared["bm25"]) == 1
    written = {path: path.stat().st_mtime_ns for files in prepared.values() for path in files}
    time.sleep(0.01)
    engine = QAEngine.open(db=db, collection=COLLECTION)         # reads the caches, writes nothing new
    assert engine.ask("What is the default R prompt?").answer is not None
    assert {path: path.stat().st_mtime_ns for files in cache_files(db).values() for path in files} == written


def test_prepare_computes_the_chunk_vectors_of_the_chosen_fallback(r_intro_pdf, macbeth_txt, pdf_excerpt, tmp_path):
    db = build_qa_db(tmp_path, r_intro_pdf, macbeth_txt, pdf_excerpt)
    assert main(["prepare", "--db", db, "--collection", COLLECTION, "--device", "cpu", "--fallback", "bge"]) == 0
    assert len(sorted(Path(db, ".qa-cache").glob("bge/**/*.npz"))) == 2 and not cache_files(db)["minilm"]


def test_prepare_of_a_missing_collection_is_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["prepare", "--db", str(tmp_path / "db"), "--collection", "absent"])
    assert stop.value.code == 2
    assert capsys.readouterr().err.strip().count("\n") == 0


def test_prune_deletes_what_no_collection_reads_and_keeps_the_rest(r_intro_pdf, macbeth_txt, pdf_excerpt, tmp_path,
                                                                    capsys):
    db = build_qa_db(tmp_path, r_intro_pdf, macbeth_txt, pdf_excerpt)
    assert main(["prepare", "--db", db, "--collection", COLLECTION, "--device", "cpu"]) == 0
    in_use = {path: path.stat().st_mtime_ns for files in cache_files(db).values() for path in files}
    cache = Path(db, ".qa-cache")
    stale = [cache / "spans" / "0123456789abcdef" / ("f" * 32 + ".npz"),  # an older model's arrays
             next(iter(cache.glob("spans/*"))) / ("e" * 32 + ".npz"),      # a document replaced since
             cache / "minilm" / "all-MiniLM-L6-v2-0.1.0" / ("d" * 32 + ".npz"),  # an older cache layout
             cache / ("c" * 16 + ".lexical.pkl")]                          # a collection deleted since
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * 1000)
    capsys.readouterr()
    assert main(["prepare", "--db", db, "--collection", COLLECTION, "--device", "cpu", "--prune"]) == 0
    assert "pruned 4 cache files" in capsys.readouterr().out
    assert not any(path.exists() for path in stale) and not (cache / "spans" / "0123456789abcdef").exists()
    assert {path: path.stat().st_mtime_ns for files in cache_files(db).values() for path in files} == in_use


def test_prepare_that_cannot_write_a_cache_file_says_which_and_fails(r_intro_pdf, macbeth_txt, pdf_excerpt,
                                                                      tmp_path, capsys):
    # The cache directory is writable, but the one the span memory goes to cannot be made (as on a disk that fills
    # up mid-run): the engine would skip the write and compute it again on every open; prepare must not say done.
    db = build_qa_db(tmp_path, r_intro_pdf, macbeth_txt, pdf_excerpt)
    Path(db, ".qa-cache").mkdir()
    Path(db, ".qa-cache", "spans").write_text("in the way")
    with pytest.raises(SystemExit) as stop:
        main(["prepare", "--db", db, "--collection", COLLECTION, "--device", "cpu"])
    assert stop.value.code == 2
    out = capsys.readouterr()
    assert "prepared" not in out.out
    error = out.err.strip().splitlines()[-1]
    assert error.startswith(f"error: cannot write the cache file {Path(db, '.qa-cache', 'spans')}/")
    assert not list(Path(db, ".qa-cache").rglob("*.tmp"))
    assert QAEngine.open(db=db, collection=COLLECTION).ask("What is the default R prompt?").answer is not None
