"""Document records, saved streaming states and the commit protocol that makes each document's ingestion atomic.

Every change to a document follows one pattern, so that a crash (kill -9) at any instant is repaired by
`recover()` on the next run:

1. write a *pending marker* (internal collection) saying what is about to happen;
2. write the chunks (deterministic ids, upsert) and the saved streaming state (an entry per revision);
3. write the document *record* (the commit point: the document exists from this write on);
4. finish (delete the document the new one replaces, and superseded states), then delete the marker.

`recover()` reads the markers left behind: a marker whose record was committed is finished (roll forward),
one whose record was not is undone (its chunks and state deleted, or, for an append, the re-emitted chunks
restored).
Documents are never half visible to the record list, and a rerun ends with exactly the same rows.

A document re-encoded by another model keeps its doc_id (the file's sha256): its chunks and state are overwritten
in place and its record, carrying the model's fingerprint, is again the commit point. A crash before that write
leaves the old fingerprint in the record, so the next run re-encodes the document again.
"""
from __future__ import annotations

import base64
from dataclasses import asdict, dataclass, field

from ingest.store import DocumentRecord, Store, chunk_id

RECORD, PENDING, STATE = "record", "pending", "state"


def record_id(collection: str, doc_id: str) -> str:
    return f"record:{collection}:{doc_id}"


def marker_id(collection: str, doc_id: str) -> str:
    return f"pending:{collection}:{doc_id}"


def state_id(collection: str, doc_id: str, revision: int) -> str:
    return f"state:{collection}:{doc_id}:{revision}"


def load_records(store: Store, collection: str) -> dict[str, dict]:
    """doc_id -> record metadata of every committed document of the collection."""
    rows = store.get_internal(where={"$and": [{"kind": RECORD}, {"collection": collection}]})
    return {metadata["doc_id"]: metadata for _, metadata, _ in rows}


def load_saved_state(store: Store, collection: str, doc_id: str) -> tuple[dict, dict] | None:
    """(record metadata, payload with the decoded state under "state") of a document, or None."""
    rows = store.get_internal(ids=[record_id(collection, doc_id)], with_payload=True)
    if not rows:
        return None
    _, metadata, payload = rows[0]
    payload = dict(payload)
    if "state" not in payload:  # the state has its own entry (see _state_entry); older stores kept it here
        states = store.get_internal(ids=[state_id(collection, doc_id, metadata.get("revision", 1))])
        payload["state"] = states[0][1]["state"] if states else ""
    payload["state"] = base64.b64decode(payload["state"]) if payload.get("state") else b""
    return metadata, payload


def _state_entry(collection: str, record: DocumentRecord, payload: dict) -> tuple[str, dict]:
    """A document's saved streaming state as an internal entry of its own, keyed by revision.

    About 0.3 MB of base64 per document: it goes in the entry's metadata, because in a document field Chroma's
    full-text index spends seconds on it (32 states: 13.6 s as documents, 0.3 s as metadata)."""
    state = base64.b64encode(payload["state"]).decode("ascii")
    return state_id(collection, record.doc_id, record.revision), {
        "kind": STATE, "collection": collection, "doc_id": record.doc_id, "revision": record.revision, "state": state}


def _record_metadata(collection: str, record: DocumentRecord) -> dict:
    return {"kind": RECORD, "collection": collection, **asdict(record)}


def _payload_without_state(payload: dict) -> dict:
    return {key: value for key, value in payload.items() if key != "state"}


@dataclass
class NewDocument:
    """What committing one new document writes: its record, chunk rows, payload, and the documents it replaces.

    rows: {"ids", "embeddings", "documents", "metadatas"} of its chunks; payload: {"state": bytes, ...}."""

    record: DocumentRecord
    rows: dict
    payload: dict
    replaces: list[str] = field(default_factory=list)
    previous_chunks: int = 0  # chunks of the stored version it re-encodes (0: a new document)


def commit_documents(store: Store, collection: str, documents: list[NewDocument]) -> None:
    """Write new documents, each atomically: markers, chunks and saved states, records (each its document's commit
    point), then remove what they replace. The documents share each write, so a thousand small files cost a few writes per
    batch instead of four per file; recover() still judges every document by its own marker and record."""
    if not documents:
        return
    chunks = store.ensure_collection(collection)
    store.put_internal_many(
        [marker_id(collection, d.record.doc_id) for d in documents],
        [{"kind": PENDING, "collection": collection, "doc_id": d.record.doc_id, "action": "ingest",
          "revision": d.record.revision, "replaces": ",".join(d.replaces), "previous_chunks": d.previous_chunks}
         for d in documents],
        [None] * len(documents),
    )
    rows = {key: [value for d in documents for value in d.rows[key]]
            for key in ("ids", "embeddings", "documents", "metadatas")}
    store.upsert(chunks, rows["ids"], rows["embeddings"], rows["documents"], rows["metadatas"])
    states = [_state_entry(collection, d.record, d.payload) for d in documents]
    store.put_internal_many([id_ for id_, _ in states], [metadata for _, metadata in states], [None] * len(states))
    store.put_internal_many(
        [record_id(collection, d.record.doc_id) for d in documents],
        [_record_metadata(collection, d.record) for d in documents],
        [_payload_without_state(d.payload) for d in documents],
    )
    for d in documents:
        _drop_superseded(store, collection, d.record.doc_id, d.replaces, d.record.chunks, d.previous_chunks)
    store.delete_internal([marker_id(collection, d.record.doc_id) for d in documents])


def commit_append(
    store: Store, collection: str, record: DocumentRecord, rows: dict, payload: dict, previous_chunks: int,
    restore: dict,
) -> None:
    """Write an append atomically; `restore` holds the rows it overwrites (re-emitted chunks), for an undo."""
    chunks = store.ensure_collection(collection)
    marker = marker_id(collection, record.doc_id)
    store.put_internal(
        marker,
        {"kind": PENDING, "collection": collection, "doc_id": record.doc_id, "action": "append",
         "revision": record.revision, "previous_chunks": previous_chunks, "new_chunks": record.chunks},
        {"restore": {**restore, "embeddings": [list(map(float, e)) for e in restore["embeddings"]]}},
    )
    store.upsert(chunks, rows["ids"], rows["embeddings"], rows["documents"], rows["metadatas"])
    store.put_internal(*_state_entry(collection, record, payload))
    store.put_internal(record_id(collection, record.doc_id), _record_metadata(collection, record),
                       _payload_without_state(payload))
    _delete_states(store, collection, record.doc_id, keep=record.revision)
    store.delete_internal([marker])


def delete_document(store: Store, collection: str, doc_id: str) -> int:
    """Remove a document: marker, record (from here on it is gone), chunks, marker. Returns chunks removed."""
    store.put_internal(marker_id(collection, doc_id),
                       {"kind": PENDING, "collection": collection, "doc_id": doc_id, "action": "delete",
                        "revision": 0, "replaces": ""})
    return _finish_delete(store, collection, doc_id)


def recover(store: Store, collection: str) -> list[str]:
    """Finish or undo every write a crash interrupted in this collection; returns what was done, one line each."""
    markers = store.get_internal(where={"$and": [{"kind": PENDING}, {"collection": collection}]}, with_payload=True)
    if not markers:
        return []
    records = load_records(store, collection)
    done = []
    for _, marker, payload in markers:
        doc_id, action = marker["doc_id"], marker["action"]
        committed = doc_id in records and records[doc_id].get("revision", 1) >= marker["revision"]
        if action == "delete":
            _finish_delete(store, collection, doc_id)
            done.append(f"finished deleting {doc_id}")
        elif action == "ingest" and committed:
            replaces = [d for d in marker.get("replaces", "").split(",") if d]
            _drop_superseded(store, collection, doc_id, replaces, records[doc_id]["chunks"],
                             marker.get("previous_chunks", 0))
            store.delete_internal([marker_id(collection, doc_id)])
            done.append(f"finished ingesting {doc_id}")
        elif action == "ingest":
            _delete_chunks(store, collection, doc_id)
            _delete_states(store, collection, doc_id)
            store.delete_internal([marker_id(collection, doc_id)])
            done.append(f"removed half-written {doc_id}")
        elif action == "append" and committed:
            _delete_states(store, collection, doc_id, keep=records[doc_id].get("revision", 1))
            store.delete_internal([marker_id(collection, doc_id)])
            done.append(f"finished appending to {doc_id}")
        elif action == "append":
            chunks = store.ensure_collection(collection)
            restore = payload["restore"]
            extra = [chunk_id(doc_id, i) for i in range(marker["previous_chunks"], marker["new_chunks"])]
            store.delete_ids(chunks, extra)
            if restore["ids"]:
                store.upsert(chunks, restore["ids"], restore["embeddings"], restore["documents"], restore["metadatas"])
            store.delete_internal([state_id(collection, doc_id, marker["revision"]), marker_id(collection, doc_id)])
            done.append(f"undid interrupted append to {doc_id}")
    return done


def _drop_superseded(store: Store, collection: str, doc_id: str, replaces: list[str], chunks: int,
                     previous_chunks: int) -> None:
    """Delete the documents a new one replaces, and the chunks past its end left by the version it re-encodes."""
    if previous_chunks > chunks:
        store.delete_ids(store.collection(collection), [chunk_id(doc_id, i) for i in range(chunks, previous_chunks)])
    for old in replaces:
        if old != doc_id:
            store.delete_internal([record_id(collection, old)])
            _delete_chunks(store, collection, old)
            _delete_states(store, collection, old)


def _finish_delete(store: Store, collection: str, doc_id: str) -> int:
    store.delete_internal([record_id(collection, doc_id)])
    removed = _delete_chunks(store, collection, doc_id)
    _delete_states(store, collection, doc_id)
    store.delete_internal([marker_id(collection, doc_id)])
    return removed


def _delete_states(store: Store, collection: str, doc_id: str, keep: int | None = None) -> None:
    """Remove a document's saved states, all of them or all but revision `keep`."""
    ids = store.internal_ids(where={"$and": [{"kind": STATE}, {"collection": collection}, {"doc_id": doc_id}]})
    kept = state_id(collection, doc_id, keep) if keep is not None else None
    store.delete_internal([id_ for id_ in ids if id_ != kept])


def _delete_chunks(store: Store, collection: str, doc_id: str) -> int:
    if collection not in store.collections():
        return 0
    chunks = store.collection(collection)
    ids = chunks.get(where={"doc_id": doc_id}, include=[])["ids"]
    store.delete_ids(chunks, ids)
    return len(ids)

