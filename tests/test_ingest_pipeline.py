"""Ingestion end to end into a real embedded Chroma with the shipped model: skip, replace, sync, append, bad input."""
from __future__ import annotations

import json
import random

import numpy as np
import pytest

from ingest.cli import main as ingest_main
from ingest.errors import StoreError
from ingest.parse import parse_file
from ingest.pipeline import IngestOptions, append_document, ingest_paths
from ingest.store import Store, chunk_id

WORDS = "alpha beta gamma delta model chunk state river mountain book page line reader memory".split()


def lines(seed: int, count: int) -> str:
    rng = random.Random(seed)
    return "\n".join(" ".join(rng.choice(WORDS) for _ in range(10)) + "." for _ in range(count))


@pytest.fixture(scope="module")
def encoder():
    from ingest.encode import Encoder

    return Encoder("cpu")


@pytest.fixture
def store(tmp_path):
    return Store.open(db=tmp_path / "db")


def all_rows(store, name="default"):
    got = store.collection(name).get(include=["embeddings", "documents", "metadatas"])
    order = np.argsort(got["ids"])
    return [got["ids"][i] for i in order], np.asarray(got["embeddings"])[order], [got["documents"][i] for i in order]


def test_ingest_query_skip_replace_sync(tmp_path, store, encoder):
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "a.txt").write_text(lines(1, 80))
    (docs / "sub" / "b.md").write_text("# Title B\n\n" + lines(2, 30))
    summary = ingest_paths([str(docs)], store, options=IngestOptions(device="cpu"), encoder=encoder)
    assert not summary.failed and len(summary.ingested) == 2
    records = {r.source: r for r in store.documents("default")}
    a = records[str(docs / "a.txt")]
    assert a.chunks == -(-a.tokens // 256) and a.pages >= 1
    ids, embeddings, texts = all_rows(store)
    assert chunk_id(a.doc_id, 0) in ids and len(ids) == sum(r.chunks for r in records.values())
    assert np.allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-4)
    hit = store.query("default", embeddings[0].tolist(), k=3)[0]
    assert hit.id == ids[0] and hit.score == pytest.approx(1.0, abs=1e-3)
    assert set(hit.metadata) >= {"source", "doc_id", "title", "chunk_index", "page_start", "page_end",
                                 "page_label_start", "page_label_end", "char_start", "char_end", "section",
                                 "context_text"}
    only_a = store.query("default", embeddings[0].tolist(), k=50, doc_ids=[a.doc_id])
    assert {c.metadata["doc_id"] for c in only_a} == {a.doc_id}
    chunks_a = list(store.iter_chunks("default", [a.doc_id]))
    assert len(chunks_a) == a.chunks
    assert "".join(c.text for c in chunks_a) == parse_file(docs / "a.txt").full_text()
    version = store.version("default")

    again = ingest_paths([str(docs)], store, options=IngestOptions(device="cpu"), encoder=encoder)
    assert not again.ingested and {s["reason"] for s in again.skipped} == {"unchanged"}
    assert store.version("default") == version

    (docs / "a.txt").write_text(lines(3, 40))  # changed: replaces the old document
    changed = ingest_paths([str(docs)], store, options=IngestOptions(device="cpu"), encoder=encoder)
    assert len(changed.ingested) == 1 and len(store.documents("default")) == 2
    assert not [i for i in all_rows(store)[0] if i.startswith(a.doc_id)]
    assert store.version("default") != version

    (docs / "sub" / "b.md").unlink()
    synced = ingest_paths([str(docs)], store, options=IngestOptions(device="cpu", sync=True), encoder=encoder)
    assert [r["source"] for r in synced.removed] == [str(docs / "sub" / "b.md")]
    assert [r.source for r in store.documents("default")] == [str(docs / "a.txt")]
    assert len(all_rows(store)[0]) == store.documents("default")[0].chunks
    assert store.collections() == ["default"]  # the internal collection stays hidden


def test_a_copy_takes_over_the_document_whose_file_is_gone(tmp_path, store, encoder):
    """Two files with the same content are stored once, under the first; when that one is deleted, --sync keeps
    the content under the copy in one run (it was dropped, and came back only on a second run)."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# Owls\n\n" + lines(4, 20))
    (docs / "b.md").write_text("# Owls\n\n" + lines(4, 20))
    first = ingest_paths([str(docs)], store, options=IngestOptions(device="cpu"), encoder=encoder)
    assert [entry["reason"] for entry in first.skipped] == [f"same content as {docs / 'a.md'}"]
    (docs / "a.md").unlink()
    synced = ingest_paths([str(docs)], store, options=IngestOptions(device="cpu", sync=True), encoder=encoder)
    assert [(entry["source"], entry["replaced"]) for entry in synced.ingested] == [
        (str(docs / "b.md"), "its file is gone; this file has the same content")]
    assert not synced.removed and "took over 1 whose file is gone" in synced.text()
    assert [record.source for record in store.documents("default")] == [str(docs / "b.md")]
    assert len(all_rows(store)[0]) == store.documents("default")[0].chunks
    again = ingest_paths([str(docs)], store, options=IngestOptions(device="cpu", sync=True), encoder=encoder)
    assert not again.ingested and not again.removed and [s["reason"] for s in again.skipped] == ["unchanged"]


def test_an_encrypted_pdf_opens_with_the_password_from_the_environment(tmp_path, make_pdf, capsys, monkeypatch):
    """--password on the command line shows in the process list; the environment variable does not."""
    locked = make_pdf(["The vault opens at midnight."], name="locked.pdf", user_password="pw")
    monkeypatch.setenv("NONATTN_QA_PDF_PASSWORD", "pw")
    assert ingest_main([str(locked), "--db", str(tmp_path / "db"), "--device", "cpu", "--json"]) == 0
    assert [entry["pages"] for entry in json.loads(capsys.readouterr().out)["ingested"]] == [1]


def test_append_equals_whole_file(tmp_path, encoder, inference_precision):
    first, second, third = lines(10, 40), lines(11, 45), lines(12, 30)  # each under one text page
    (tmp_path / "log.txt").write_text(first + "\f" + second)
    (tmp_path / "more.txt").write_text(third)
    (tmp_path / "whole.txt").write_text(first + "\f" + second + "\f" + third)
    appended, whole = Store.open(db=tmp_path / "db1"), Store.open(db=tmp_path / "db2")
    options = IngestOptions(device="cpu")
    ingest_paths([str(tmp_path / "log.txt")], appended, options=options, encoder=encoder)
    doc_id = appended.documents("default")[0].doc_id
    append_document(appended, "default", doc_id[:10], tmp_path / "more.txt", options, encoder=encoder)
    ingest_paths([str(tmp_path / "whole.txt")], whole, options=options, encoder=encoder)

    ids_a, emb_a, text_a = all_rows(appended)
    ids_w, emb_w, text_w = all_rows(whole)
    assert len(ids_a) == len(ids_w) and text_a == text_w
    assert np.abs(emb_a - emb_w).max() < inference_precision
    record_a, record_w = appended.documents("default")[0], whole.documents("default")[0]
    assert (record_a.pages, record_a.chunks, record_a.tokens) == (record_w.pages, record_w.chunks, record_w.tokens)
    meta_a = [c.metadata for c in appended.iter_chunks("default")]
    meta_w = [c.metadata for c in whole.iter_chunks("default")]
    for a, w in zip(meta_a, meta_w):
        for key in ("page_start", "page_end", "char_start", "char_end", "token_start", "token_end", "section",
                    "inner_sections"):
            assert a[key] == w[key], key
    # one saved state per document, the appended revision's; none once the document is deleted
    states = {"$and": [{"kind": "state"}, {"collection": "default"}]}
    assert appended.internal_ids(states) == [f"state:default:{doc_id}:2"]
    appended.delete_document("default", doc_id)
    assert appended.internal_ids(states) == [] and appended.documents("default") == []


def test_bad_inputs_each_one_line_and_the_run_goes_on(tmp_path, make_pdf, capsys):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "good.txt").write_text(lines(5, 20))
    (docs / "empty.txt").write_bytes(b"")
    (docs / "binary.txt").write_bytes(b"\x00\x01\x02" * 100)
    (docs / "fake.pdf").write_text("not a pdf")
    (docs / "blank.md").write_text("   \n\n  ")
    make_pdf(["secret"], name="docs/locked.pdf", user_password="pw")
    make_pdf(["x"], name="docs/scan.pdf", image_pages=(0,))
    (docs / "broken.epub").write_bytes(b"PK\x03\x04garbage")
    (tmp_path / "notes.xyz").write_text("x")
    db = tmp_path / "db"
    code = ingest_main([str(docs), str(tmp_path / "missing.txt"), str(tmp_path / "notes.xyz"),
                        str(tmp_path / "*.nomatch"), "--db", str(db), "--device", "cpu", "--json"])
    out, err = capsys.readouterr()
    summary = json.loads(out)
    assert code == 1
    assert [e["source"].rsplit("/", 1)[-1] for e in summary["ingested"]] == ["good.txt"]
    failed = {e["source"].rsplit("/", 1)[-1]: e["error"] for e in summary["failed"]}
    assert set(failed) == {"empty.txt", "binary.txt", "fake.pdf", "blank.md", "locked.pdf", "scan.pdf",
                           "broken.epub", "missing.txt", "notes.xyz", "*.nomatch"}
    error_lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(error_lines) == len(failed) and "Traceback" not in err
    assert all("\n" not in reason for reason in failed.values())


def test_usage_errors_exit_2(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    assert ingest_main(["ingest", "x.txt", "--db", str(tmp_path / "afile")]) == 2
    assert ingest_main(["ingest", "x.txt", "--chroma-host", "127.0.0.1", "--chroma-port", "1"]) == 2
    assert ingest_main(["docs", "list", "--db", str(tmp_path / "db"), "--collection", "nope"]) == 2
    assert ingest_main(["ingest", "--db", str(tmp_path / "db")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("error: ") == 4
    with pytest.raises(StoreError, match="no collection 'nope' in DB; ingest documents first"):
        Store.open(db=tmp_path / "db").collection("nope")


def test_docs_list_and_delete(tmp_path, capsys):
    (tmp_path / "a.txt").write_text(lines(7, 10))
    (tmp_path / "b.txt").write_text(lines(8, 10))
    db = str(tmp_path / "db")
    assert ingest_main([str(tmp_path / "a.txt"), str(tmp_path / "b.txt"), "--db", db, "-q"]) == 0
    capsys.readouterr()
    assert ingest_main(["docs", "list", "--db", db, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert sorted(d["source"] for d in listed) == [str(tmp_path / "a.txt"), str(tmp_path / "b.txt")]
    assert ingest_main(["docs", "delete", str(tmp_path / "a.txt"), "--db", db]) == 0
    assert ingest_main(["docs", "delete", "ffffffff", "--db", db]) == 1
    store = Store.open(db=db)
    assert [d.source for d in store.documents("default")] == [str(tmp_path / "b.txt")]
    assert store.collection("default").count() == store.documents("default")[0].chunks


def test_short_files_written_together_equal_files_written_alone(tmp_path, encoder):
    docs = tmp_path / "docs"
    docs.mkdir()
    for index in range(12):
        (docs / f"note{index:02d}.txt").write_text(lines(100 + index, 3 + 4 * index))
    (docs / "copy.txt").write_text(lines(100, 3))  # the same content as note00.txt
    together = Store.open(db=tmp_path / "together")
    summary = ingest_paths([str(docs)], together, options=IngestOptions(device="cpu"), encoder=encoder)
    assert len(summary.ingested) == 12 and not summary.failed
    skipped = [(s["source"], s["reason"]) for s in summary.skipped]
    assert skipped == [(str(docs / "note00.txt"), f"same content as {docs / 'copy.txt'}")]  # found first (sorted)

    alone = Store.open(db=tmp_path / "alone")
    for path in sorted(docs.glob("note*.txt")):
        ingest_paths([str(path)], alone, options=IngestOptions(device="cpu"), encoder=encoder)
    ids_t, emb_t, text_t = all_rows(together)
    ids_a, emb_a, text_a = all_rows(alone)
    assert ids_t == ids_a and text_t == text_a and np.abs(emb_t - emb_a).max() < 1e-5
    assert {r.doc_id: r.chunks for r in together.documents("default")} == {r.doc_id: r.chunks for r in alone.documents("default")}
    assert not together.internal.get(where={"kind": "pending"})["ids"]


def test_the_internal_collection_syncs_often_in_new_and_older_databases(tmp_path):
    """Chroma keeps each write in its log until the collection's index syncs, and every commit cost more the more
    saved states (~0.3 MB each) that log held: the internal collection syncs every 10 writes, in a new database and in
    one made before it did."""
    from ingest.store import INTERNAL_COLLECTION

    older = Store.open(db=tmp_path / "older")
    older.client.get_or_create_collection(INTERNAL_COLLECTION, embedding_function=None)    # Chroma's default: 1,000
    for db in (tmp_path / "new", tmp_path / "older"):
        book = tmp_path / f"{db.name}.txt"
        book.write_text(lines(7, 40))
        summary = ingest_paths([str(book)], Store.open(db=db))
        assert len(summary.ingested) == 1, summary
        reopened = Store.open(db=db).internal
        assert reopened.configuration_json["hnsw"]["sync_threshold"] == 10, reopened.configuration_json
