"""The model reads documents: loading it on the chosen device, encoding a document whole (streamed), saving
the streaming state from which the document can later be continued, and continuing it."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

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

    def __init__(self, device: str = "auto", checkpoint: str | None = None, piece_tokens: int = 4096,
                 batch_documents: int | None = None):
        from nonattn_core import NonAttnLM, Tokenizer

        self.device = resolve_device(device)
        self.model = NonAttnLM.from_pretrained(checkpoint, device=self.device)
        self.tokenizer = Tokenizer()
        self.chunk_size = self.model.config.chunk_size
        self.embed_dim = self.model.config.embed_dim
        self.piece_tokens = piece_tokens
        # Short documents read side by side (see encode_many): a GPU is far from full with one; a CPU is not
        self.batch_documents = batch_documents or (8 if self.device.startswith("cuda") else 1)

    @cached_property
    def fingerprint(self) -> str:
        """The model's fingerprint (NonAttnLM.fingerprint), computed once: each document's record keeps it."""
        return self.model.fingerprint()

    def is_short(self, tokens: list[int]) -> bool:
        """Whether a document is short enough to be read in a batch with others (one piece or less)."""
        return len(tokens) <= self.piece_tokens

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

    def encode_many(self, documents: list[tuple[list[int], int]]) -> list[Encoded]:
        """encode(tokens, hold) for several documents, read side by side as rows of one batch.

        Rows are right-padded to the longest and stepped in lockstep from one position where some row holds or
        ends to the next: every row is cut at every such position (streaming gives the same numbers for any
        cuts), and a row's state and last chunk are taken from the step that ends at its own hold and length.
        Padding after a row's end only follows it, never precedes it, so nothing leaks into what is kept."""
        import torch

        if len(documents) == 1:
            return [self.encode(*documents[0])]
        C = self.chunk_size
        lengths = [len(tokens) for tokens, _ in documents]
        ids = torch.zeros(len(documents), max(lengths), dtype=torch.long)
        for row, (tokens, _) in enumerate(documents):
            ids[row, : len(tokens)] = torch.as_tensor(tokens, dtype=torch.long)
        cuts = sorted({hold for _, hold in documents} | set(lengths) | set(range(0, max(lengths), self.piece_tokens)))
        cuts = [cut for cut in cuts if cut > 0]
        states: list[bytes | None] = [None] * len(documents)
        chunks: list[dict[int, np.ndarray]] = [{} for _ in documents]
        stream = self.model.init_state(len(documents))
        start = 0
        with torch.no_grad(), self.model.inference_autocast():
            for end in cuts:
                first = start // C
                out, stream = self.model.forward_stream(ids[:, start:end].to(self.device), stream, flush=True,
                                                        return_logits=False)
                keys = out.chunk_embeddings.float().cpu().numpy()        # (B, chunks touched, E)
                for row, (length, (_, hold)) in enumerate(zip(lengths, documents)):
                    if end == hold:
                        states[row] = _row_state(stream, row).to_bytes()
                    for local in range(keys.shape[1]):
                        chunk = first + local
                        # a chunk is taken in the step where it is complete for this row (its last one is
                        # complete where the row's text ends)
                        if start < min(chunk * C + C, length) <= end:
                            chunks[row][chunk] = keys[row, local]
                start = end
        for row, (_, hold) in enumerate(documents):
            if states[row] is None:  # hold == 0: the state before any token
                states[row] = self.model.init_state(1).to_bytes()
        return [Encoded(np.stack([found[i] for i in range(len(found))]).astype(np.float32), 0, state)
                for found, state in zip(chunks, states)]


def _row_state(stream, row: int):
    """One row of a batched StreamState, as a batch of one."""
    from nonattn_core import InProcessMemory, StreamState
    from nonattn_core.block import BlockState

    def take(tensor):
        return None if tensor is None else tensor[row:row + 1].clone()

    blocks = [BlockState(take(block.ssm), take(block.conv_tail)) for block in stream.blocks]
    memory = InProcessMemory(stream.memory.keys[row:row + 1].clone())
    return StreamState(stream.position, blocks, take(stream.chunk_sum), take(stream.supervisor), memory,
                       stream.lm_ready)
