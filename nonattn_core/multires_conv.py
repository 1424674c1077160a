"""Multi-resolution dilated causal depthwise convolutions, combined with learned per-channel gates.

Causal by construction: every convolution is padded on the left only, with the carried `tail` of earlier inputs
(zeros at the start of a document), so a piece fed after its tail gives the same outputs as the whole sequence.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class MultiResolutionConv(nn.Module):
    def __init__(self, d_model: int, kernel_size: int = 3, dilations: tuple[int, ...] = (1, 2, 4, 8, 16)):
        super().__init__()
        self.kernel_size = kernel_size
        self.dilations = tuple(dilations)
        self.tail_len = (kernel_size - 1) * max(self.dilations)
        self.convs = nn.ModuleList(
            nn.Conv1d(d_model, d_model, kernel_size, dilation=d, groups=d_model, padding=0) for d in self.dilations
        )
        self.gate_logits = nn.Parameter(torch.zeros(d_model, len(self.dilations)))  # softmax over resolutions
        self.out_proj = nn.Linear(d_model, d_model)

    def empty_tail(self, batch_size: int, d_model: int, device, dtype=torch.float32) -> torch.Tensor:
        return torch.zeros(batch_size, d_model, self.tail_len, device=device, dtype=dtype)

    def forward(self, x: torch.Tensor, tail: torch.Tensor | None = None):
        """x (B, L, D), tail (B, D, tail_len) of the previous inputs -> (B, L, D), new tail."""
        activated, new_tail = self.activated_taps(x, tail)
        return self.out_proj(activated), new_tail

    def activated_taps(self, x: torch.Tensor, tail: torch.Tensor | None = None):
        """gelu(gated sum of the dilated taps + bias), before the output projection: (B, L, D), new tail."""
        if x.is_cuda and not torch.is_grad_enabled():
            from . import triton_ops
            if triton_ops.available():      # GPU inference: taps, bias and GELU in one Triton kernel (triton_ops.py)
                out_dtype = x.dtype if torch.is_autocast_enabled("cuda") else torch.float32
                return triton_ops.dilated_taps_gelu(self, x, tail, out_dtype)
        if x.device.type == "cpu" and not torch.is_grad_enabled():
            return self._taps_merged(x, tail)
        u = x.transpose(1, 2)                                          # (B, D, L)
        if tail is None:
            tail = self.empty_tail(u.shape[0], u.shape[1], u.device, u.dtype)
        padded = torch.cat([tail.to(u.dtype), u], dim=-1)              # left context only: causal
        length, total = u.shape[-1], padded.shape[-1]
        gates = torch.softmax(self.gate_logits, dim=-1).to(u.dtype)    # (D, R)
        # Depthwise dilated taps as shifted multiply-adds: the same sums as the Conv1d modules (whose weights
        # they use), several times faster than depthwise convolution kernels on CPUs.
        mixed = 0
        for r, (conv, dilation) in enumerate(zip(self.convs, self.dilations)):
            weight = conv.weight[:, 0, :] * gates[:, r:r + 1]          # (D, k), gate folded in
            mixed = mixed + (conv.bias * gates[:, r]).unsqueeze(-1)
            for tap in range(self.kernel_size):
                shift = (self.kernel_size - 1 - tap) * dilation        # how far back this tap looks
                mixed = mixed + weight[:, tap:tap + 1] * padded[..., total - length - shift: total - shift]
        new_tail = padded[..., padded.shape[-1] - self.tail_len:]
        return F.gelu(mixed.transpose(1, 2)), new_tail

    def _taps_merged(self, x: torch.Tensor, tail: torch.Tensor | None):
        """CPU inference: the 15 taps fall on 7 distinct shifts, summed in place in the (B, L, D) layout (no
        transposes of the activations, one pass per shift), in float32: the input is cast once, as it is padded."""
        version = tuple(p._version for p in self.parameters())
        if getattr(self, "_merged", (None,))[0] != version:
            shifts, weights, bias = merged_taps(self)
            self._merged = (version, shifts, weights.t().contiguous(), bias)     # weights (S, D)
        _, shifts, weights, bias = self._merged
        batch, length, d_model = x.shape
        padded = x.new_empty(batch, self.tail_len + length, d_model, dtype=weights.dtype)   # (B, tail + L, D)
        if tail is None:
            padded[:, : self.tail_len].zero_()
        else:
            padded[:, : self.tail_len].copy_(tail.transpose(1, 2))
        padded[:, self.tail_len:].copy_(x)       # cast once here, not by each multiply-add (bf16 x under autocast)
        end = padded.shape[1]
        mixed = torch.addcmul(bias, padded[:, end - length - shifts[0]: end - shifts[0]], weights[0])
        for shift, weight in zip(shifts[1:], weights[1:]):
            mixed.addcmul_(padded[:, end - length - shift: end - shift], weight)
        new_tail = padded[:, end - self.tail_len:].transpose(1, 2).to(x.dtype).contiguous()
        return F.gelu(mixed), new_tail

    def reference(self, x: torch.Tensor) -> torch.Tensor:
        """The specification: each dilation as a depthwise Conv1d over the left-zero-padded input, gated sum."""
        u = x.transpose(1, 2)
        gates = torch.softmax(self.gate_logits, dim=-1)
        mixed = 0
        for r, (conv, dilation) in enumerate(zip(self.convs, self.dilations)):
            reach = (self.kernel_size - 1) * dilation
            mixed = mixed + conv(F.pad(u, (reach, 0))) * gates[:, r].unsqueeze(-1)
        return self.out_proj(F.gelu(mixed.transpose(1, 2)))


def merged_taps(conv) -> tuple[list[int], torch.Tensor, torch.Tensor]:
    """Distinct shifts of a MultiResolutionConv, gated weights per shift (D, S) and the gated bias (D,), float32."""
    gates = torch.softmax(conv.gate_logits.float(), dim=-1)           # (D, R)
    shifts = sorted({(conv.kernel_size - 1 - tap) * d for d in conv.dilations for tap in range(conv.kernel_size)})
    weights = gates.new_zeros(gates.shape[0], len(shifts))
    bias = 0
    for r, (module, dilation) in enumerate(zip(conv.convs, conv.dilations)):
        for tap in range(conv.kernel_size):
            column = shifts.index((conv.kernel_size - 1 - tap) * dilation)
            weights[:, column] += module.weight[:, 0, tap].float() * gates[:, r]
        bias = bias + module.bias.float() * gates[:, r]
    return shifts, weights.contiguous(), bias.contiguous()
