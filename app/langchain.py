"""LangChain components: the model's embeddings as an `Embeddings`, the QA engine's retrieval as a `BaseRetriever`.

Thin classes over the real model and the real Chroma store, in the style of langchain-chroma:

    from app.langchain import NonAttnRetriever
    retriever = NonAttnRetriever(collection="default", k=4)        # embedded Chroma in the default directory
    docs = retriever.invoke("How do I quit R?", k=2)                # each Document's metadata has source and page
"""
from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr


@lru_cache(maxsize=4)
def _load_model(checkpoint: str | None, device: str):
    """One model per (checkpoint, device) per process: embeddings and retrievers share it."""
    from nonattn_core import NonAttnLM

    return NonAttnLM.from_pretrained(checkpoint, device=device)


@lru_cache(maxsize=1)
def _tokenizer():
    from nonattn_core import Tokenizer

    return Tokenizer()


class NonAttnEmbeddings(BaseModel, Embeddings):
    """The non-attention model's chunk-embedding head (384-d, L2-normalised), the space Chroma stores."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    checkpoint: str | None = None
    """Checkpoint directory; None loads the checkpoint shipped with the package."""
    device: str = "cpu"
    batch_size: int = Field(default=64, gt=0)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed each text alone (at most one chunk of tokens)."""
        model, tokenizer = _load_model(self.checkpoint, self.device), _tokenizer()
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = [tokenizer.encode(text) for text in texts[start : start + self.batch_size]]
            vectors.extend(model.embed_texts(batch).tolist())
        return vectors

    def embed_query(self, text: str) -> list[float]:
        """Embed a question into the same space as the passages."""
        return self.embed_documents([text])[0]


class NonAttnRetriever(BaseRetriever):
    """Hybrid retrieval (model embeddings + BM25) over one collection of the store, as LangChain Documents.

    `k` is set here and may be overridden per call: `retriever.invoke(question, k=2)`.
    `doc_ids` restricts retrieval to some documents of the collection.
    """

    collection: str = "default"
    db: str | None = None
    """Directory of the embedded Chroma database; None uses the default one."""
    host: str | None = None
    """Host of a Chroma server (instead of the embedded database)."""
    port: int | None = None
    k: int = Field(default=4, gt=0)
    doc_ids: list[str] | None = None

    _engine: Any = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def _get_engine(self):
        with self._lock:
            if self._engine is None:
                from app.engine import EngineConfig, QAEngine

                # Retrieval only: no answer extraction, so no sentence model; the embedding model is shared.
                self._engine = QAEngine.open(db=self.db, host=self.host, port=self.port, collection=self.collection,
                                             config=EngineConfig(semantic_answer=False, cross_encoder=False),
                                             model=_load_model(None, "cpu"), tokenizer=_tokenizer())
            else:
                self._engine.refresh()  # documents added or removed since: rebuild the lexical index
            return self._engine

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, k: int | None = None,
        doc_ids: list[str] | None = None, **_: Any,
    ) -> list[Document]:
        if not isinstance(query, str):
            raise TypeError(f"the query must be a string, not {type(query).__name__}")
        k = self.k if k is None else checked_k(k)
        if not query.strip():
            return []                      # nothing asked: nothing retrieved (the UI and the CLI refuse it too)
        passages = self._get_engine().retrieve(query, k=k, doc_ids=doc_ids or self.doc_ids)
        return [passage_to_document(passage) for passage in passages]


def checked_k(k: Any) -> int:
    """A per-call `k`, checked as the constructor's is: a positive int (k=-1 once meant "all but the last")."""
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be a positive integer, not {k!r}")
    return k


def passage_to_document(passage: Any) -> Document:
    """A retrieved passage as a Document; metadata keeps what a citation needs (source, page, ...)."""
    page_start = getattr(passage, "page_start", None)
    metadata = {
        "source": getattr(passage, "source", ""),
        "page": page_start,
        "page_end": getattr(passage, "page_end", page_start),
        "page_label": getattr(passage, "page_label_start", None),
        "section": getattr(passage, "section", None),
        "score": float(getattr(passage, "score", 0.0) or 0.0),
        "id": getattr(passage, "id", None),
    }
    return Document(page_content=passage.text, metadata={k: v for k, v in metadata.items() if v is not None},
                    id=metadata["id"])
