"""The retrieval memory of chunk embeddings that each chunk consults before the supervisor step.

While a document is read, its memory holds only that document's earlier chunks (one memory per batch row, so
nothing leaks between samples). `ChunkMemory` is the interface; `InProcessMemory` keeps the keys in a tensor.
ingest/ restores a document's memory from the embeddings stored in Chroma when it appends to that document.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import torch


class ChunkMemory(ABC):
    """Stored chunk embeddings of earlier chunks, one store per batch row."""

    @abstractmethod
    def search(self, queries: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """queries (B, Q, E) -> scores (B, Q, k) (-inf where fewer than k are stored), keys (B, Q, k, E)."""

    @abstractmethod
    def add(self, keys: torch.Tensor) -> None:
        """Append keys (B, n, E) of chunks that have just been completed."""

    @abstractmethod
    def __len__(self) -> int:
        """Number of stored chunks per row."""


class InProcessMemory(ChunkMemory):
    def __init__(self, keys: torch.Tensor):
        self.keys = keys                                               # (B, n, E)

    @classmethod
    def empty(cls, batch_size: int, embed_dim: int, device=None) -> "InProcessMemory":
        return cls(torch.zeros(batch_size, 0, embed_dim, device=device))

    def search(self, queries: torch.Tensor, k: int):
        batch, n_queries, dim = queries.shape
        keys = self.keys.to(device=queries.device, dtype=queries.dtype)
        scores = queries @ keys.transpose(1, 2)                        # (B, Q, n)
        top = min(k, scores.shape[-1])
        values, index = scores.topk(top, dim=-1)                       # (B, Q, top)
        rows = torch.arange(batch, device=queries.device).view(batch, 1, 1)
        picked = keys[rows, index]                                     # (B, Q, top, E)
        if top < k:
            values = torch.cat([values, values.new_full((batch, n_queries, k - top), float("-inf"))], dim=-1)
            picked = torch.cat([picked, picked.new_zeros(batch, n_queries, k - top, dim)], dim=2)
        return values, picked

    def add(self, keys: torch.Tensor) -> None:
        self.keys = torch.cat([self.keys, keys.detach().to(self.keys.dtype)], dim=1)

    def __len__(self) -> int:
        return self.keys.shape[1]
