"""The model reads documents: loading it on the chosen device, encoding a document whole (streamed), saving
the streaming state from which the document can later be continued, and continuing it."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ingest.chunk import _token_char_offsets

# The saved state sits at the start of the document's last line, so that appended text re-tokenizes exactly as
# the whole text would (a line start after "\n" before a non-space is always a tiktoken pre-token boundary).
# Beyond this many characters back, the state is saved at the very end instead (exactness at the seam is lost).
MAX_HOLDBACK_CHARS = 16384


def resolve_device(device: str = "auto") -> str:
    """'cuda' when asked or (auto) available, else 'cpu'; ValueError for a CUDA request without CUDA."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("--device cuda: CUDA is not available on this machine")
    if device not in ("cpu",) and not device.startswith("cuda"):
        raise ValueError(f"--device {device}: expected auto, cpu or cuda")
    return device


def holdback_point(text: str, tokens: list[int], encoding) -> tuple[int, int]:
    """(token index, char offset) where the document's saved state is taken: the start of its last line."""
    char_at_token = _token_char_offsets(text, tokens, encoding)
    lowest = max(len(text) - MAX_HOLDBACK_CHARS, 0)
    newline = text.rfind("\n", lowest)
    while newline >= lowest and newline != -1:
        start = newline + 1
        if start < len(text) and not text[start].isspace():
            token = int(np.searchsorted(char_at_token, start))
            if token < len(tokens) and char_at_token[token] == start:
                return token, start
        newline = text.rfind("\n", lowest, newline)
    return len(tokens), len(text)


@dataclass
class Encoded:
    """Chunk embeddings from chunk `first_chunk` on, and the serialized state at the hold-back point."""

    embeddings: np.ndarray  # (n, embed_dim) float32, L2-normalised
    first_chunk: int
    state: bytes


class Encoder:
    """The model on a device, encoding token lists into chunk embeddings."""

    def __init__(self, device: str = "auto", checkpoint: str | None = None, piece_tokens: int = 4096):
        from nonattn_core import NonAttnLM, Tokenizer

        self.device = resolve_device(device)
        self.model = NonAttnLM.from_pretrained(checkpoint, device=self.device)
        self.tokenizer = Tokenizer()
        self.chunk_size = self.model.config.chunk_size
        self.embed_dim = self.model.config.embed_dim
        self.piece_tokens = piece_tokens

    def encode(self, tokens: list[int], hold_position: int) -> Encoded:
        """Embeddings of every chunk of a whole document, and the state after tokens[:hold_position]."""
        return self._encode_from(None, tokens, hold_position)

    def resume(self, state: bytes, memory_keys: np.ndarray, tokens: list[int], hold_offset: int) -> Encoded:
        """Continue a document from a saved state (memory_keys: its finished chunks' embeddings, in order).

        tokens continue the document; the new state is taken after tokens[:hold_offset]."""
        import torch

        from nonattn_core import InProcessMemory, StreamState

        keys = torch.as_tensor(np.asarray(memory_keys, dtype=np.float32).reshape(1, -1, self.embed_dim))
        stream = StreamState.from_bytes(state, memory=InProcessMemory(keys.to(self.device)), device=self.device)
        return self._encode_from(stream, tokens, hold_offset)

    def _encode_from(self, stream, tokens: list[int], hold: int) -> Encoded:
        """Read tokens from `stream` (None: a document's start), saving the state after tokens[:hold].

        The state is taken mid-way so a later append can re-read the held-back tail; the tail's chunks replace
        the head's unfinished last chunk."""
        position = stream.position if stream is not None else 0
        first_chunk = position // self.chunk_size
        head = self.model.encode_document(tokens[:hold], state=stream, piece_tokens=self.piece_tokens)
        state = head.state.to_bytes()
        if len(tokens) == hold:
            embeddings = head.embeddings.numpy()
        else:
            finished = (position + hold) // self.chunk_size - first_chunk
            tail = self.model.encode_document(tokens[hold:], state=head.state, piece_tokens=self.piece_tokens)
            embeddings = np.concatenate([head.embeddings[:finished].numpy(), tail.embeddings.numpy()])
        return Encoded(np.asarray(embeddings, dtype=np.float32), first_chunk, state)
