"""A Transformer of the same width, depth and embedding as NonAttnLM (causal SDPA attention): the comparison."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .block import GatedMLP, RMSNorm
from .config import NonAttnConfig
from .model import FactorizedEmbedding, ModelOutput, next_token_loss


class CausalSelfAttention(nn.Module):
    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=False)
        self.out_proj = nn.Linear(d_model, d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, dim = x.shape
        q, k, v = self.qkv(x).view(batch, length, 3, self.n_heads, dim // self.n_heads).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)    # (B, heads, L, head_dim)
        return self.out_proj(y.transpose(1, 2).reshape(batch, length, dim))


class TransformerBlock(nn.Module):
    def __init__(self, cfg: NonAttnConfig, n_heads: int):
        super().__init__()
        self.norm_attn = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.attn = CausalSelfAttention(cfg.d_model, n_heads)
        self.norm_mlp = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.mlp = GatedMLP(cfg.d_model, int(cfg.mlp_ratio * cfg.d_model))

    def forward(self, x):
        x = x + self.attn(self.norm_attn(x))
        return x + self.mlp(self.norm_mlp(x))


class TransformerLM(nn.Module):
    """GPT-style baseline; rotary-free, so positions come from a learned table up to `max_len`."""

    def __init__(self, config: NonAttnConfig | None = None, n_heads: int = 4, max_len: int = 2048):
        super().__init__()
        self.config = cfg = config or NonAttnConfig()
        self.embedding = FactorizedEmbedding(cfg.vocab_size, cfg.embed_rank, cfg.d_model)
        self.position = nn.Embedding(max_len, cfg.d_model)
        nn.init.normal_(self.position.weight, std=0.02)
        self.blocks = nn.ModuleList(TransformerBlock(cfg, n_heads) for _ in range(cfg.n_layers))
        self.final_norm = RMSNorm(cfg.d_model, cfg.norm_eps)

    def forward(self, input_ids: torch.Tensor, return_loss: bool = False, return_logits: bool = True) -> ModelOutput:
        x = self.embedding(input_ids) + self.position(torch.arange(input_ids.shape[1], device=input_ids.device))
        for block in self.blocks:
            x = block(x)
        logits = self.embedding.logits(self.final_norm(x))
        loss = next_token_loss(logits, input_ids) if return_loss else None
        return ModelOutput(logits, torch.zeros(input_ids.shape[0], 0, self.config.embed_dim), loss)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

