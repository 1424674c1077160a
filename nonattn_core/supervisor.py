"""Chunk level of the model: chunk embeddings, retrieval from the memory of earlier chunks, fusion, GRU supervisor.

For chunk m: summary s_m = mean of the lower blocks' outputs over its tokens; embedding e_m = head(s_m, b_m)
(L2-normalised, what Chroma stores, and the memory key), where b_m is the chunk's lexical bag: the mean of its
tokens' weighted embedding-table rows; r_m = mean of the top-k earlier chunk embeddings most
similar to e_m (earlier chunks only, never m itself); fused f_m = tanh(W [s_m, r_m]); h_m = GRU(f_m, h_(m-1)).
h_(m-1) conditions the tokens of chunk m in the upper blocks, so no token ever sees its own chunk's summary.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .bf16_weights import linear
from .memory import ChunkMemory


class LexicalBag(nn.Module):
    """What a chunk's words say on their own: each token's embedding-table row times a learned per-token weight
    (rare words count more), averaged over the chunk by the caller, then mapped into the embedding space.

    `lexical_init.init_from_teacher` starts it as a static distillation of the teacher (every token's text alone
    through MiniLM, PCA to the table's rank, frequency weights), so chunk embeddings match questions on shared
    content words from the first step; the contextual head learns what word order and the document add.
    """

    def __init__(self, vocab_size: int, rank: int, embed_dim: int):
        super().__init__()
        self.token_weight = nn.Parameter(torch.ones(vocab_size))
        self.out = nn.Linear(rank, embed_dim, bias=False)

    def token_vectors(self, table_rows: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """(B, T, rank) table rows of tokens `ids` (B, T) -> their weighted vectors (B, T, rank), float32."""
        return table_rows.float() * self.token_weight[ids].unsqueeze(-1)


class ChunkEmbeddingHead(nn.Module):
    """Chunk summary (d_model) [+ lexical bag mapped to embed_dim] -> L2-normalised chunk embedding (embed_dim)."""

    def __init__(self, d_model: int, embed_dim: int, eps: float = 1e-5):
        super().__init__()
        self.norm = nn.LayerNorm(d_model, eps=eps)
        self.hidden = nn.Linear(d_model, d_model)
        self.out = nn.Linear(d_model, embed_dim)

    def forward(self, summary: torch.Tensor, lexical: torch.Tensor | None = None) -> torch.Tensor:
        hidden = F.gelu(linear(self.norm(summary), self.hidden.weight, self.hidden.bias))
        contextual = linear(hidden, self.out.weight, self.out.bias)
        if contextual.is_cuda and not torch.is_grad_enabled():        # GPU inference: sum and norm in one pass
            from . import triton_ops
            if triton_ops.available():
                return triton_ops.normalized_sum(contextual, lexical)
        contextual = contextual.float()
        return F.normalize(contextual if lexical is None else contextual + lexical.float(), dim=-1)


def retrieve_earlier(keys: torch.Tensor, memory: ChunkMemory | None, k: int) -> torch.Tensor:
    """Mean of the top-k most similar earlier chunks for each chunk: from the memory, or earlier in `keys`.

    keys (B, M, E) are this piece's chunk embeddings in order; returns (B, M, E) (zeros where nothing is earlier).
    """
    batch, n_chunks, _ = keys.shape
    if keys.is_cuda and not torch.is_grad_enabled() and (memory is None or not len(memory)):
        from . import triton_ops
        if triton_ops.available() and keys.dtype == torch.float32:     # GPU inference, nothing stored yet
            return _retrieve_earlier_in_piece(keys, k)
    scores = keys @ keys.transpose(1, 2)                               # (B, M, M)
    earlier = torch.ones(n_chunks, n_chunks, dtype=torch.bool, device=keys.device).tril(-1)
    scores = scores.masked_fill(~earlier, float("-inf"))
    top = min(k, n_chunks)
    values, index = scores.topk(top, dim=-1)
    rows = torch.arange(batch, device=keys.device).view(batch, 1, 1)
    candidates = keys[rows, index]                                     # (B, M, top, E)
    if memory is not None and len(memory):
        mem_values, mem_keys = memory.search(keys, k)
        values = torch.cat([values, mem_values], dim=-1)
        candidates = torch.cat([candidates, mem_keys.to(candidates.dtype)], dim=2)
        values, index = values.topk(k, dim=-1)
        candidates = torch.gather(candidates, 2, index.unsqueeze(-1).expand(-1, -1, -1, keys.shape[-1]))
    valid = torch.isfinite(values).unsqueeze(-1).to(keys.dtype)       # (B, M, k', 1)
    return (candidates * valid).sum(2) / valid.sum(2).clamp(min=1.0)


def _retrieve_earlier_in_piece(keys: torch.Tensor, k: int) -> torch.Tensor:
    """`retrieve_earlier` with no memory, for GPU inference: the keys cast once for their product (autocast would
    cast both operands), the later chunks masked in one kernel, the gather and mean in another (triton_ops); the
    same scores and top-k, the mean up to float32 rounding."""
    from . import triton_ops
    operand = keys.to(torch.get_autocast_dtype("cuda")) if torch.is_autocast_enabled("cuda") else keys
    scores = triton_ops.mask_later(operand @ operand.transpose(1, 2))  # (B, M, M), -inf unless earlier
    values, index = scores.topk(min(k, keys.shape[1]), dim=-1)
    return triton_ops.retrieved_mean(keys, index, values)


class MemoryFusion(nn.Module):
    """tanh of a linear map of [chunk summary, mean of retrieved chunk embeddings]."""

    def __init__(self, d_model: int, embed_dim: int, supervisor_dim: int):
        super().__init__()
        self.proj = nn.Linear(d_model + embed_dim, supervisor_dim)

    def forward(self, summary: torch.Tensor, retrieved: torch.Tensor) -> torch.Tensor:
        joined = torch.cat([summary, retrieved.to(summary.dtype)], dim=-1)
        return torch.tanh(linear(joined, self.proj.weight, self.proj.bias))


class Supervisor(nn.Module):
    """A GRU over fused chunk summaries, carrying the running document state; `inject` maps it into the blocks."""

    def __init__(self, d_model: int, embed_dim: int, supervisor_dim: int, topk: int):
        super().__init__()
        self.topk = topk
        self.fusion = MemoryFusion(d_model, embed_dim, supervisor_dim)
        self.gru = nn.GRU(supervisor_dim, supervisor_dim, batch_first=True)
        self.inject = nn.Linear(supervisor_dim, d_model, bias=False)
        nn.init.zeros_(self.inject.weight)  # start as a plain LM; training learns how much document state to use

    def prepared_steps(self, summaries: torch.Tensor, keys: torch.Tensor, memory: ChunkMemory | None,
                       state: torch.Tensor):
        """`forward`'s inputs, fusion and input projection done, its steps not yet launched, or None where the
        persistent GRU does not apply (batch > 1, no Triton): `triton_ops.PersistentGRU`, whose `states[1:]` become
        forward's output (in the fused inputs' dtype) once `launch` has run every step."""
        from . import triton_ops
        if not triton_ops.gru_persistent_applies(self.gru, summaries):
            return None
        fused = self.fusion(summaries, retrieve_earlier(keys, memory, self.topk))
        return triton_ops.PersistentGRU(self.gru, fused, state.unsqueeze(0).to(fused.dtype))

    def forward(self, summaries: torch.Tensor, keys: torch.Tensor, memory: ChunkMemory | None,
                state: torch.Tensor) -> torch.Tensor:
        """summaries (B, M, D), keys (B, M, E), state (B, S) = h before the first chunk -> h after each chunk (B, M, S)."""
        fused = self.fusion(summaries, retrieve_earlier(keys, memory, self.topk))
        h0 = state.unsqueeze(0).to(fused.dtype)
        if fused.is_cuda and not torch.is_grad_enabled():              # GPU inference: one launch for all steps,
            from . import triton_ops                                   # else graph replay (cuda_graphs.py)
            if triton_ops.gru_persistent_applies(self.gru, fused):
                return triton_ops.gru_persistent(self.gru, fused, h0)
            from .cuda_graphs import graphed_gru
            return graphed_gru(self.gru, fused, h0)
        out, _ = self.gru(fused, h0)
        return out
