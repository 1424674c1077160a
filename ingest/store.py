"""Chroma as the external memory: one collection of chunk embeddings per user collection, plus one internal
collection holding document records, saved streaming states and the markers of writes in progress.

Chroma is opened embedded (PersistentClient under a data directory) or as a client of a Chroma server. Every
write is batched at or below the client's max batch size; embeddings are always passed in, so Chroma never
loads (or downloads) an embedding model of its own.
"""
from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ingest.errors import NoDatabaseError, StoreError

DEFAULT_COLLECTION = "default"
DB_ENV = "NONATTN_QA_DB"
CHROMA_DATABASE_FILE = "chroma.sqlite3"  # what an embedded Chroma directory holds once created
DEFAULT_SERVER_PORT = 8000
INTERNAL_COLLECTION = "nonattn-qa-internal"
INTERNAL_PREFIX = "nonattn-qa-internal"
_COSINE = {"hnsw": {"space": "cosine"}}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,510}[A-Za-z0-9]$")
_READ_PAGE = 5000  # rows per get() when reading a whole collection
_INTERNAL_VECTOR = [1.0]  # internal entries are looked up by id and metadata only; Chroma wants a vector
# Chroma keeps each write in its log until the collection's vector index next syncs (every 1,000 writes by default,
# ~250 documents' commits), and a write costs more the more that log holds: with the saved states (~0.3 MB each)
# in it, a document's commit took 0.13 s after an emptied log and 0.81 s by its 200th-249th document (0.42 s on
# average over 300; `python -m ingest.bench_commits`). The internal entries' index is one number each: syncing it
# often is cheap, and a commit stays at ~27 ms.
_INTERNAL_SYNC_THRESHOLD = 10


def default_db_dir() -> Path:
    """$NONATTN_QA_DB, else the per-user data directory (~/.local/share/nonattn-qa/chroma or $XDG_DATA_HOME)."""
    if os.environ.get(DB_ENV):
        return Path(os.environ[DB_ENV]).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home) / "nonattn-qa" / "chroma"


@dataclass
class StoredChunk:
    """One chunk as stored: its id, text, similarity to the query (None outside a search) and metadata."""

    id: str
    text: str
    score: float | None
    metadata: dict


@dataclass
class DocumentRecord:
    """What is known about one ingested document (the commit marker of its chunks)."""

    doc_id: str
    source: str
    title: str
    format: str
    pages: int
    chunks: int
    tokens: int
    ingested_at: str
    sha256: str = ""
    revision: int = 1
    model: str = ""  # fingerprint of the model that encoded it (NonAttnLM.fingerprint); "" in older stores
    parser: int = 0  # ingest.parse.parser_version of its format when it was parsed; 0 in older stores

    @classmethod
    def from_metadata(cls, metadata: dict) -> "DocumentRecord":
        return cls(**{name: metadata[name] for name in cls.__dataclass_fields__ if name in metadata})


def chunk_id(doc_id: str, chunk_index: int) -> str:
    """The deterministic id of a document's chunk."""
    return f"{doc_id}:{chunk_index:06d}"


def check_collection_name(name: str) -> str:
    """The name, or StoreError when Chroma would refuse it or it is reserved."""
    shown = repr(name if len(name) <= 60 else f"{name[:57]}...")
    if not _NAME.match(name) or ".." in name:
        raise StoreError(
            f"invalid collection name {shown} (3-512 characters: letters, digits, '.', '_', '-'; "
            "starting and ending with a letter or digit)"
        )
    if _is_ip_address(name):
        raise StoreError(f"invalid collection name {shown}: Chroma refuses names that are IP addresses")
    if name.startswith(INTERNAL_PREFIX):
        raise StoreError(f"collection name {shown} is reserved")
    return name


def _is_ip_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _server_address(host: str | None, port: int | None) -> tuple[str, int]:
    """(host, port) of the Chroma server asked for, localhost and 8000 where one is left out; StoreError for an
    empty host or a port out of range."""
    if host is not None and not host.strip():
        raise StoreError("--chroma-host is empty: give the server's host name or address")
    port = DEFAULT_SERVER_PORT if port is None else int(port)
    problem = port_problem("--chroma-port", port)
    if problem:
        raise StoreError(problem)
    return host or "localhost", port


def port_problem(option: str, port: int) -> str | None:
    """'--port 0: a port is 1-65535' for a port no server can use, else None."""
    return None if 0 < port < 65536 else f"{option} {port}: a port is 1-65535"


def check_database_exists(path: Path) -> None:
    """NoDatabaseError unless `path` holds an embedded Chroma database (its chroma.sqlite3): a command that only
    reads must not leave an empty database at a mistyped --db."""
    if not (path / CHROMA_DATABASE_FILE).is_file():
        raise NoDatabaseError(f"no database at {path} (ingest documents into it first)")


class Store:
    """A Chroma database (embedded or server) seen as collections of documents and their chunks."""

    def __init__(self, client, location: str):
        self.client = client
        self.location = location
        self.max_batch = max(1, min(int(client.get_max_batch_size()), 5000))
        self._internal = None

    @classmethod
    def open(cls, db: str | Path | None = None, host: str | None = None, port: int | None = None,
             create: bool = True) -> "Store":
        """Embedded Chroma under `db` (default: default_db_dir()), or the Chroma server at host:port.

        create=False is for commands that only read or remove (ask, eval, docs, prepare): a mistyped --db is then
        NoDatabaseError("no database at ..."), a StoreError, instead of an empty database made there and a
        misleading "no collection". A server is never created, so it ignores `create`.
        """
        import chromadb
        from chromadb.config import Settings

        settings = Settings(anonymized_telemetry=False)
        if db is not None and (host is not None or port is not None):
            raise StoreError("--db names an embedded database and --chroma-host/--chroma-port a server: give one")
        if host is not None or port is not None:   # an empty or zero one given is a mistake, not the embedded DB
            host, port = _server_address(host, port)
            try:
                client = chromadb.HttpClient(host=host, port=port, settings=settings)
                client.heartbeat()
            except Exception as error:  # connection refused, DNS, TLS...: one line for the user
                raise StoreError(f"cannot reach Chroma server at {host}:{port} ({_first_line(error)})") from None
            return cls(client, f"{host}:{port}")
        if db is not None and not str(db).strip():
            raise StoreError("--db is empty: give a directory, or leave --db out for the default one")
        path = Path(db).expanduser() if db else default_db_dir()
        try:
            if path.exists() and not path.is_dir():
                raise StoreError(f"--db {path}: is a file, not a directory")
            if not create:
                check_database_exists(path)
        except OSError as error:    # a parent directory that may not be entered
            raise StoreError(f"--db {path}: cannot read ({error.strerror or error})") from None
        try:
            path.mkdir(parents=True, exist_ok=True)
            client = chromadb.PersistentClient(path=str(path), settings=settings)
        except Exception as error:
            hint = _READ_ONLY_HINT if "readonly" in str(error).replace("-", "").lower() else ""
            raise StoreError(f"cannot open Chroma database in {path} ({_first_line(error)}){hint}") from None
        return cls(client, str(path))

    # ---- collections --------------------------------------------------------------------------------------
    def collections(self) -> list[str]:
        """Names of the user collections (the internal one hidden), sorted."""
        names = [getattr(c, "name", c) for c in self.client.list_collections()]
        return sorted(name for name in names if not name.startswith(INTERNAL_PREFIX))

    def collection(self, name: str):
        """The chromadb Collection, or StoreError when there is none of that name."""
        try:
            return self.client.get_collection(name, embedding_function=None)
        except Exception:
            raise StoreError(f"no collection {name!r} in DB; ingest documents first") from None

    def ensure_collection(self, name: str):
        """The collection, created (cosine space, no embedding function) when missing."""
        check_collection_name(name)
        return self.client.get_or_create_collection(name, embedding_function=None, configuration=_COSINE)

    @property
    def internal(self):
        """The hidden collection of records, saved states and write markers."""
        if self._internal is None:
            synced_often = {"hnsw": {"sync_threshold": _INTERNAL_SYNC_THRESHOLD}}
            internal = self.client.get_or_create_collection(INTERNAL_COLLECTION, embedding_function=None,
                                                            configuration=synced_often)
            hnsw = (getattr(internal, "configuration_json", None) or {}).get("hnsw")   # None: another index type
            if hnsw and hnsw.get("sync_threshold") != _INTERNAL_SYNC_THRESHOLD:
                internal.modify(configuration=synced_often)     # a database made before this setting
            self._internal = internal
        return self._internal

    # ---- documents -----------------------------------------------------------------------------------------
    def documents(self, name: str) -> list[DocumentRecord]:
        """Every committed document of the collection, by source path."""
        self.collection(name)
        rows = self.get_internal(where={"$and": [{"kind": "record"}, {"collection": name}]})
        records = [DocumentRecord.from_metadata(metadata) for _, metadata, _ in rows]
        return sorted(records, key=lambda record: (record.source, record.doc_id))

    def delete_document(self, name: str, doc_id: str) -> int:
        """Remove a document (its record, then its chunks, crash-safe); returns the number of chunks removed."""
        from ingest.records import delete_document

        self.collection(name)
        return delete_document(self, name, doc_id)

    def version(self, name: str) -> str:
        """A short hash that changes whenever a document of the collection is added, appended, removed,
        re-encoded by another model or parsed again by a newer parser."""
        rows = self.get_internal(where={"$and": [{"kind": "record"}, {"collection": name}]})
        keys = sorted(f"{m['doc_id']}:{m.get('revision', 1)}:{m.get('chunks', 0)}:{m.get('model', '')}"
                      f":{m.get('parser', 0)}" for _, m, _ in rows)
        return hashlib.sha256("\n".join(keys).encode()).hexdigest()[:16]

    # ---- chunks --------------------------------------------------------------------------------------------
    def query(self, name: str, embedding: list[float], k: int, doc_ids: list[str] | None = None) -> list[StoredChunk]:
        """The k chunks nearest to the embedding (cosine), best first, optionally within some documents."""
        collection = self.collection(name)
        count = collection.count()
        if count == 0 or k <= 0:
            return []
        where = None
        if doc_ids is not None:
            if not doc_ids:
                return []
            where = {"doc_id": doc_ids[0]} if len(doc_ids) == 1 else {"doc_id": {"$in": list(doc_ids)}}
        result = collection.query(
            query_embeddings=[list(map(float, embedding))],
            n_results=min(k, count),
            where=where,
            include=["documents", "metadatas", "distances"],
        )
        return [
            StoredChunk(id=id_, text=text, score=1.0 - float(distance), metadata=dict(metadata))
            for id_, text, metadata, distance in zip(
                result["ids"][0], result["documents"][0], result["metadatas"][0], result["distances"][0]
            )
        ]

    def iter_chunks(self, name: str, doc_ids: list[str] | None = None) -> Iterator[StoredChunk]:
        """Every chunk of the collection (or of some documents), in document order."""
        collection = self.collection(name)
        wanted = list(doc_ids) if doc_ids is not None else [r.doc_id for r in self.documents(name)]
        for doc_id in sorted(wanted):
            rows = []
            offset = 0
            while True:
                page = collection.get(
                    where={"doc_id": doc_id}, include=["documents", "metadatas"], limit=_READ_PAGE, offset=offset
                )
                rows.extend(zip(page["ids"], page["documents"], page["metadatas"]))
                if len(page["ids"]) < _READ_PAGE:
                    break
                offset += _READ_PAGE
            for id_, text, metadata in sorted(rows, key=lambda row: row[0]):
                yield StoredChunk(id=id_, text=text, score=None, metadata=dict(metadata))

    # ---- batched low-level access (used by ingest.records) -------------------------------------------------
    def upsert(self, collection, ids, embeddings=None, documents=None, metadatas=None) -> None:
        """Upsert rows in batches no larger than the client allows."""
        for start in range(0, len(ids), self.max_batch):
            end = start + self.max_batch
            collection.upsert(
                ids=list(ids[start:end]),
                embeddings=[list(map(float, e)) for e in embeddings[start:end]] if embeddings is not None else None,
                documents=list(documents[start:end]) if documents is not None else None,
                metadatas=list(metadatas[start:end]) if metadatas is not None else None,
            )

    def delete_ids(self, collection, ids) -> None:
        for start in range(0, len(ids), self.max_batch):
            collection.delete(ids=list(ids[start:start + self.max_batch]))

    def get_rows(self, collection, ids, include=("documents", "metadatas", "embeddings")) -> dict[str, dict]:
        """id -> {"document", "metadata", "embedding"} for the ids that exist."""
        found = {}
        for start in range(0, len(ids), self.max_batch):
            page = collection.get(ids=list(ids[start:start + self.max_batch]), include=list(include))
            for i, id_ in enumerate(page["ids"]):
                found[id_] = {
                    "document": page["documents"][i] if page.get("documents") is not None else None,
                    "metadata": page["metadatas"][i] if page.get("metadatas") is not None else None,
                    "embedding": page["embeddings"][i] if page.get("embeddings") is not None else None,
                }
        return found

    def put_internal(self, id_: str, metadata: dict, payload: dict | None = None) -> None:
        """Write one internal entry (a record or a marker): metadata plus a JSON payload."""
        self.put_internal_many([id_], [metadata], [payload])

    def put_internal_many(self, ids: list[str], metadatas: list[dict], payloads: list[dict | None]) -> None:
        """Write several internal entries, in as few client calls as the batch size allows."""
        documents = [json.dumps(payload or {}) for payload in payloads]
        self.upsert(self.internal, ids, [_INTERNAL_VECTOR] * len(ids), documents, metadatas)

    def get_internal(self, ids=None, where=None, with_payload=False) -> list[tuple[str, dict, dict | None]]:
        """(id, metadata, payload or None) of internal entries by ids or by a metadata filter."""
        include = ["metadatas", "documents"] if with_payload else ["metadatas"]
        rows = []
        offset = 0
        while True:
            page = self.internal.get(ids=ids, where=where, include=include, limit=_READ_PAGE, offset=offset)
            for i, id_ in enumerate(page["ids"]):
                payload = json.loads(page["documents"][i]) if with_payload else None
                rows.append((id_, page["metadatas"][i], payload))
            if ids is not None or len(page["ids"]) < _READ_PAGE:
                return rows
            offset += _READ_PAGE

    def internal_ids(self, where: dict) -> list[str]:
        """Ids of the internal entries matching a metadata filter (nothing else is read)."""
        return list(self.internal.get(where=where, include=[])["ids"])

    def delete_internal(self, ids: list[str]) -> None:
        self.delete_ids(self.internal, ids)


_READ_ONLY_HINT = ("; Chroma writes to its database even to read it: make the directory writable, or copy it somewhere "
                   "writable and give the copy as --db")


def _first_line(error: BaseException) -> str:
    """The first line of the error's message, or of the first error it was raised from that has one (Chroma's
    client raises an empty ValueError from an HTTP error that says what happened), or its type's name."""
    cause: BaseException | None = error
    while cause is not None:
        text = str(cause).strip().splitlines()
        if text:
            return text[0]
        cause = cause.__cause__ or cause.__context__
    return type(error).__name__
