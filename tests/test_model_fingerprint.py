"""Each document's record names the model that encoded it: a model change re-encodes unchanged files in place
and refuses appends onto documents of the old model (real embedded Chroma, the shipped model and a perturbed copy)."""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from ingest.cli import main as ingest_main
from ingest.errors import IngestError
from ingest.parse import parser_version
from ingest.pipeline import MODEL_CHANGED, PARSER_CHANGED, IngestOptions, append_document, ingest_paths
from ingest.records import RECORD
from ingest.store import Store
from nonattn_core import NonAttnLM
from tests.test_ingest_pipeline import all_rows, lines

OPTIONS = IngestOptions(device="cpu")


@pytest.fixture(scope="module")
def encoder():
    from ingest.encode import Encoder

    return Encoder("cpu")


def perturbed_checkpoint(directory, **config_changes):
    """The shipped model with one weight of its chunk-embedding head nudged, saved as a checkpoint directory."""
    model = NonAttnLM.from_pretrained()
    with torch.no_grad():
        model.chunk_head.out.weight[0, 0] += 0.05
    for name, value in config_changes.items():
        setattr(model.config, name, value)
    return model.save_pretrained(directory)


@pytest.fixture(scope="module")
def other_checkpoint(tmp_path_factory):
    return perturbed_checkpoint(tmp_path_factory.mktemp("other-model"))


@pytest.fixture(scope="module")
def other_encoder(other_checkpoint):
    from ingest.encode import Encoder

    return Encoder("cpu", checkpoint=str(other_checkpoint))


@pytest.fixture
def docs(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text(lines(1, 120))
    (folder / "b.md").write_text("# Title B\n\n" + lines(2, 40))
    return folder


def records_by_name(store):
    return {r.source.rsplit("/", 1)[-1]: r for r in store.documents("default")}


def test_fingerprint_names_weights_and_config(encoder, other_encoder):
    assert re.fullmatch(r"[0-9a-f]{16}", encoder.fingerprint)
    assert encoder.fingerprint == NonAttnLM.from_pretrained().fingerprint()
    assert other_encoder.fingerprint != encoder.fingerprint


def test_same_model_rerun_skips(tmp_path, docs, encoder):
    store = Store.open(db=tmp_path / "db")
    first = ingest_paths([str(docs)], store, options=OPTIONS, encoder=encoder)
    assert len(first.ingested) == 2 and "replaced" not in first.ingested[0]
    assert {r.model for r in store.documents("default")} == {encoder.fingerprint}
    version = store.version("default")

    again = ingest_paths([str(docs)], store, options=OPTIONS, encoder=encoder)
    assert not again.ingested and [s["reason"] for s in again.skipped] == ["unchanged", "unchanged"]
    assert store.version("default") == version


def test_other_model_reencodes_in_place(tmp_path, docs, encoder, other_encoder):
    store = Store.open(db=tmp_path / "db")
    ingest_paths([str(docs)], store, options=OPTIONS, encoder=encoder)
    ids_before, embeddings_before, texts_before = all_rows(store)
    before = records_by_name(store)

    summary = ingest_paths([str(docs)], store, options=OPTIONS, encoder=other_encoder)
    assert not summary.skipped and not summary.failed
    assert [e["replaced"] for e in summary.ingested] == [MODEL_CHANGED, MODEL_CHANGED]
    assert "re-encoded 2 for another model" in summary.text()
    after = records_by_name(store)
    assert {r.model for r in after.values()} == {other_encoder.fingerprint}
    assert {name: (r.doc_id, r.chunks) for name, r in after.items()} == \
        {name: (r.doc_id, r.chunks) for name, r in before.items()}
    ids, embeddings, texts = all_rows(store)
    assert ids == ids_before and len(set(ids)) == len(ids) == sum(r.chunks for r in after.values())
    assert texts == texts_before
    assert np.abs(embeddings - embeddings_before).max() > 1e-4  # the new model's embeddings, not the old ones

    fresh = Store.open(db=tmp_path / "fresh")  # what the new model alone writes
    ingest_paths([str(docs)], fresh, options=OPTIONS, encoder=other_encoder)
    assert np.allclose(all_rows(fresh)[1], embeddings, atol=1e-6)
    states = {"$and": [{"kind": "state"}, {"collection": "default"}]}
    assert sorted(store.internal_ids(states)) == sorted(fresh.internal_ids(states))

    again = ingest_paths([str(docs)], store, options=OPTIONS, encoder=other_encoder)
    assert not again.ingested and {s["reason"] for s in again.skipped} == {"unchanged"}


def test_records_without_fingerprint_are_reencoded(tmp_path, docs, encoder):
    """Stores written before records named their model hold no fingerprint: their documents are re-encoded once."""
    store = Store.open(db=tmp_path / "db")
    ingest_paths([str(docs / "a.txt")], store, options=OPTIONS, encoder=encoder)
    where = {"$and": [{"kind": RECORD}, {"collection": "default"}]}
    [(record_id, metadata, payload)] = store.get_internal(where=where, with_payload=True)
    store.delete_internal([record_id])  # an upsert would keep the old keys
    store.put_internal(record_id, {k: v for k, v in metadata.items() if k != "model"}, payload)
    assert store.documents("default")[0].model == ""

    summary = ingest_paths([str(docs / "a.txt")], store, options=OPTIONS, encoder=encoder)
    assert [e["replaced"] for e in summary.ingested] == [MODEL_CHANGED]
    assert store.documents("default")[0].model == encoder.fingerprint



def test_records_of_an_older_parser_are_parsed_again(tmp_path, docs, encoder):
    """A parser fix changes what an unchanged file of its format becomes (a plain text's sections, say): documents
    of that format parsed before it are parsed and encoded again, once, in place; other formats are left alone."""
    store = Store.open(db=tmp_path / "db")
    ingest_paths([str(docs)], store, options=OPTIONS, encoder=encoder)
    records = records_by_name(store)
    assert records["a.txt"].parser == parser_version("txt") >= 1 and records["b.md"].parser == parser_version("md")
    rows_before = all_rows(store)[0]
    where = {"$and": [{"kind": RECORD}, {"collection": "default"}]}
    for record_id, metadata, payload in store.get_internal(where=where, with_payload=True):   # as older stores
        store.delete_internal([record_id])
        store.put_internal(record_id, {k: v for k, v in metadata.items() if k != "parser"}, payload)

    version = store.version("default")
    summary = ingest_paths([str(docs)], store, options=OPTIONS, encoder=encoder)
    assert [(e["source"].rsplit("/", 1)[-1], e["replaced"]) for e in summary.ingested] == [("a.txt", PARSER_CHANGED)]
    assert [s["source"].rsplit("/", 1)[-1] for s in summary.skipped] == ["b.md"]
    assert store.version("default") != version, "what the engine cached of the collection is read again"
    assert "parsed 1 again with a newer parser" in summary.text()
    assert records_by_name(store)["a.txt"].parser == parser_version("txt") and all_rows(store)[0] == rows_before
    again = ingest_paths([str(docs)], store, options=OPTIONS, encoder=encoder)
    assert not again.ingested and [s["reason"] for s in again.skipped] == ["unchanged", "unchanged"]


def test_fewer_chunks_under_new_model_leave_no_stale_rows(tmp_path, docs, encoder):
    """A model reading longer chunks re-encodes a document into fewer of them: the old tail chunks are deleted."""
    from ingest.encode import Encoder

    store = Store.open(db=tmp_path / "db")
    ingest_paths([str(docs / "a.txt")], store, options=OPTIONS, encoder=encoder)
    old_chunks = store.documents("default")[0].chunks
    wider = Encoder("cpu", checkpoint=str(perturbed_checkpoint(tmp_path / "wide", chunk_size=512)))

    summary = ingest_paths([str(docs / "a.txt")], store, options=OPTIONS, encoder=wider)
    record = store.documents("default")[0]
    assert [e["replaced"] for e in summary.ingested] == [MODEL_CHANGED]
    assert record.chunks == -(-record.tokens // 512) < old_chunks
    ids = all_rows(store)[0]
    assert len(ids) == record.chunks and ids[-1].endswith(f":{record.chunks - 1:06d}")


def test_append_with_other_model_fails_with_one_line(tmp_path, other_checkpoint, capsys):
    (tmp_path / "log.txt").write_text(lines(10, 40))
    (tmp_path / "more.txt").write_text(lines(11, 30))
    db = str(tmp_path / "db")
    assert ingest_main(["--db", db, "--device", "cpu", "-q", str(tmp_path / "log.txt")]) == 0
    store = Store.open(db=db)
    doc_id = store.documents("default")[0].doc_id
    rows = all_rows(store)
    capsys.readouterr()

    append = ["--db", db, "--device", "cpu", "-q", "--checkpoint", str(other_checkpoint), "--append", doc_id[:10],
              str(tmp_path / "more.txt")]
    assert ingest_main(append) == 1
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "Traceback" not in error
    assert error.startswith(f"error: document {doc_id[:12]}")
    assert "another model version" in error and "re-ingested" in error
    assert all_rows(store)[0] == rows[0] and np.array_equal(all_rows(store)[1], rows[1])

    # as the message says: ingest the file again with this model, then the append goes through
    assert ingest_main(["--db", db, "--device", "cpu", "-q", "--checkpoint", str(other_checkpoint),
                        str(tmp_path / "log.txt")]) == 0
    assert ingest_main(append) == 0
    assert store.documents("default")[0].revision == 2


def test_appended_document_under_other_model_is_reported_not_reencoded(tmp_path, encoder, other_encoder):
    (tmp_path / "log.txt").write_text(lines(10, 40))
    (tmp_path / "more.txt").write_text(lines(11, 30))
    store = Store.open(db=tmp_path / "db")
    ingest_paths([str(tmp_path / "log.txt")], store, options=OPTIONS, encoder=encoder)
    doc_id = store.documents("default")[0].doc_id
    append_document(store, "default", doc_id, tmp_path / "more.txt", OPTIONS, encoder=encoder)
    rows = all_rows(store)

    summary = ingest_paths([str(tmp_path / "log.txt")], store, options=OPTIONS, encoder=other_encoder)
    assert not summary.ingested and summary.exit_code == 1
    [failure] = summary.failed
    assert f"document {doc_id[:12]} was encoded by another model version and extended with --append" in failure["error"]
    assert all_rows(store)[0] == rows[0] and np.array_equal(all_rows(store)[1], rows[1])
    with pytest.raises(IngestError, match="another model version"):
        append_document(store, "default", doc_id, tmp_path / "more.txt", OPTIONS, encoder=other_encoder)


def test_dense_search_leaves_out_documents_of_another_model(tmp_path, docs, encoder, other_encoder, caplog):
    from app.engine import EngineConfig, QAEngine, RetrievalConfig

    store = Store.open(db=tmp_path / "db")
    ingest_paths([str(docs / "a.txt")], store, options=OPTIONS, encoder=other_encoder)
    ingest_paths([str(docs / "b.md")], store, options=OPTIONS, encoder=encoder)
    config = EngineConfig(retrieval=RetrievalConfig(bm25=False, dense=True, w_dense=1.0))
    engine = QAEngine(store, "default", model=encoder.model, config=config, cache_dir=tmp_path / "cache")
    records = records_by_name(store)
    with caplog.at_level("WARNING"):
        found = engine.retriever.dense_ranking("line", 50)
    assert found and all(chunk_id.startswith(records["b.md"].doc_id) for chunk_id in found)
    assert "1 of 2 documents" in caplog.text
    assert engine.retriever.dense_ranking("line", 50, doc_ids=[records["a.txt"].doc_id]) == []

    ingest_paths([str(docs / "a.txt")], store, options=OPTIONS, encoder=encoder)   # re-encoded with this model
    engine.refresh()
    found = engine.retriever.dense_ranking("line", 50, doc_ids=[records["a.txt"].doc_id])
    assert found and all(chunk_id.startswith(records["a.txt"].doc_id) for chunk_id in found)
