"""Fused GPU kernels (Triton) for a block's projections at inference, next to the torch expressions they replace.

At 32K tokens a block's activations (16 MB each in bf16) make ~40 round trips through GPU memory; these kernels
save some of them:

- `gated_mlp_residual`: `residual + GatedMLP(normed)` for pieces whose MLP hidden activations fit in the GPU's L2
  cache: an up projection writing `value * silu(gate)` (half its width), then `linear_residual` reading it. Plain
  version: `gated_mlp_residual_reference`.
- `linear_residual`: `residual + linear(a)` as one GEMM whose epilogue adds the bias and the residual stream (the
  mixers' output projections and the MLP's down projection), instead of a GEMM writing its output and an add
  reading it back. Plain version: `linear_residual_reference`.
  With gated=True the GEMM reads the MLP's up projection and forms `value * silu(gate)` as it loads it, so the
  MLP's hidden activations are read once and never written back. `mixer_gate_residual` forms the SSM mixer's
  `gelu(y) * silu(gate + bias)` as it loads them, from their channels-first layouts (no gate pass, no transpose).

Weights are read as bf16 copies made once per weight version (`bf16_weights.py`).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .bf16_weights import bf16_weight

try:
    import triton
    import triton.language as tl

    from .triton_ops import gelu_times_silu
except ImportError:                                                    # CPU-only installs
    triton = None


def available() -> bool:
    return triton is not None and torch.cuda.is_available()


if triton is not None:
    @triton.jit
    def _linear_residual_kernel(a_ptr, w_ptr, bias_ptr, res_ptr, out_ptr, gate_ptr, gate_bias_ptr, M, L,
                                stride_yb, stride_yk, stride_gb, stride_gk, N: tl.constexpr, K: tl.constexpr,
                                HAS_BIAS: tl.constexpr, GATED: tl.constexpr, MIXER: tl.constexpr,
                                BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
        rows = (tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)).to(tl.int64)
        cols = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)
        live = (rows < M)[:, None]
        if MIXER:                                                       # row m is token l of sequence b
            b = rows // L
            at_y = (b * stride_yb + rows % L)[:, None]
            at_gate = (b * stride_gb + rows % L)[:, None]
        acc = tl.zeros((BLOCK_M, BLOCK_N), tl.float32)
        for k in tl.range(0, K, BLOCK_K):
            ks = k + tl.arange(0, BLOCK_K)
            if GATED:                                                   # a row holds (value, gate), 2K wide
                value = tl.load(a_ptr + rows[:, None] * (2 * K) + ks[None, :], mask=live, other=0.0).to(tl.float32)
                gate = tl.load(a_ptr + rows[:, None] * (2 * K) + K + ks[None, :], mask=live, other=0.0).to(tl.float32)
                a = (value * gate * tl.sigmoid(gate)).to(tl.bfloat16)
            elif MIXER:                                                 # y (B, K, L), gate (K, B, L): unit stride in L
                y = tl.load(a_ptr + at_y + ks[None, :].to(tl.int64) * stride_yk, mask=live, other=0.0)
                gate = tl.load(gate_ptr + at_gate + ks[None, :].to(tl.int64) * stride_gk, mask=live, other=0.0)
                gate = gate.to(tl.float32) + tl.load(gate_bias_ptr + ks).to(tl.float32)[None, :]
                a = gelu_times_silu(y.to(tl.float32), gate).to(tl.bfloat16)
            else:
                a = tl.load(a_ptr + rows[:, None] * K + ks[None, :], mask=live, other=0.0)
            w = tl.load(w_ptr + cols[None, :] * K + ks[:, None])      # (BLOCK_K, BLOCK_N) of weight^T
            acc = tl.dot(a, w, acc)
        if HAS_BIAS:
            acc += tl.load(bias_ptr + cols).to(tl.float32)[None, :]
        offsets = rows[:, None] * N + cols[None, :]
        acc += tl.load(res_ptr + offsets, mask=live, other=0.0).to(tl.float32)
        tl.store(out_ptr + offsets, acc.to(out_ptr.dtype.element_ty), mask=live)


# (block_m, block_n, block_k, warps, stages) per kind of call, the fastest of 32 shapes on an H100 at 32K and 1M
# tokens (runs/gpu23/sweep_run*.txt). Gated (the MLP's down projection): 71.5 -> 46.7 us at 32K, 1.84 -> 1.21 ms
# at 1M, a whole row of 256 outputs per program so that value * silu(gate) is formed once per input element.
# "mixer" (the SSM mixer's gate formed as A is loaded): a whole row too, for the same reason; the fastest of 9
# shapes at 32K (runs/gpu28/ab_run2.txt, ab_run3.txt).
SHAPES = {False: (128, 128, 64, 8, 3), True: (128, 256, 64, 8, 4), "mixer": (128, 256, 32, 8, 3)}


def linear_residual(a: torch.Tensor, linear: torch.nn.Linear, residual: torch.Tensor, gated: bool = False,
                    block_m: int | None = None, block_n: int | None = None, block_k: int | None = None,
                    num_warps: int | None = None, num_stages: int | None = None) -> torch.Tensor:
    """residual + linear(a) in residual's dtype, bf16 products and float32 sums: a (..., K), residual (..., N).

    gated=True: a is (..., 2K), (value, gate) halves, and the product is linear(value * silu(gate)) (GatedMLP).
    Block shapes default to SHAPES.
    """
    a2 = a.reshape(-1, a.shape[-1]).to(torch.bfloat16).contiguous()
    return _launch(a2, None, None, linear, residual, gated, (block_m, block_n, block_k, num_warps, num_stages))


def mixer_gate_residual(y: torch.Tensor, gate: torch.Tensor, gate_bias: torch.Tensor, linear: torch.nn.Linear,
                        residual: torch.Tensor, block_m: int | None = None, block_n: int | None = None,
                        block_k: int | None = None, num_warps: int | None = None,
                        num_stages: int | None = None) -> torch.Tensor:
    """residual + linear(gelu(y) * silu(gate + gate_bias)) (B, L, N): the SSM mixer's gate and output projection
    in one GEMM. y (B, K, L) and gate (K, B, L), each with unit stride along L (their channels-first layouts).
    The gated product is rounded to bf16 before the GEMM, as `triton_ops.gelu_gate` writes it."""
    B, K, L = y.shape
    assert gate.shape == (K, B, L) and y.stride(2) == 1 and gate.stride(2) == 1
    return _launch(y, gate, gate_bias, linear, residual, "mixer", (block_m, block_n, block_k, num_warps, num_stages))


def _launch(a, gate, gate_bias, linear, residual, kind, given) -> torch.Tensor:
    N, K = linear.weight.shape
    block_m, block_n, block_k, num_warps, num_stages = (g or d for g, d in zip(given, SHAPES[kind]))
    block_n = min(block_n, N)
    res = residual.reshape(-1, N).contiguous()
    out = torch.empty_like(res)
    bias = linear.bias if linear.bias is not None else res            # any pointer; not read without a bias
    mixer = kind == "mixer"
    L = a.shape[2] if mixer else 1
    strides = (a.stride(0), a.stride(1), gate.stride(1), gate.stride(0)) if mixer else (0, 0, 0, 0)
    grid = (triton.cdiv(res.shape[0], block_m), N // block_n)
    _linear_residual_kernel[grid](a, bf16_weight(linear.weight), bias, res, out, gate if mixer else a,
                                  gate_bias if mixer else bias, res.shape[0], L, *strides, N=N, K=K,
                                  HAS_BIAS=linear.bias is not None, GATED=kind is True, MIXER=mixer,
                                  BLOCK_M=block_m, BLOCK_N=block_n, BLOCK_K=block_k, num_warps=num_warps,
                                  num_stages=num_stages)
    return out.view(residual.shape)


def linear_residual_reference(a: torch.Tensor, linear: torch.nn.Linear, residual: torch.Tensor,
                              gated: bool = False) -> torch.Tensor:
    a = a.float()
    if gated:
        value, gate = a.chunk(2, dim=-1)
        a = value * F.silu(gate)
    return residual.float() + F.linear(a, linear.weight.float(), None if linear.bias is None else linear.bias.float())


def mixer_gate_residual_reference(y: torch.Tensor, gate: torch.Tensor, gate_bias: torch.Tensor,
                                  linear: torch.nn.Linear, residual: torch.Tensor) -> torch.Tensor:
    gated = F.gelu(y.float().transpose(1, 2)) * F.silu(gate.float().permute(1, 2, 0) + gate_bias.float())
    return residual.float() + F.linear(gated, linear.weight.float(), linear.bias.float())


# ---- the gated MLP, its hidden activations half as wide --------------------------------------------------------
if triton is not None:
    @triton.jit
    def _up_gated_kernel(a_ptr, w_ptr, out_ptr, M, K: tl.constexpr, H: tl.constexpr, BLOCK_M: tl.constexpr,
                         BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
        # value * silu(gate) of a @ up^T, BLOCK_N value and gate columns a program; value and gate are rounded to
        # bf16 first, as the up projection wrote them for the gated down projection (the same values bit for bit)
        rows = (tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)).to(tl.int64)
        cols = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)
        live = (rows < M)[:, None]
        acc_value = tl.zeros((BLOCK_M, BLOCK_N), tl.float32)
        acc_gate = tl.zeros((BLOCK_M, BLOCK_N), tl.float32)
        for k in tl.range(0, K, BLOCK_K):
            ks = k + tl.arange(0, BLOCK_K)
            a = tl.load(a_ptr + rows[:, None] * K + ks[None, :], mask=live, other=0.0)
            acc_value = tl.dot(a, tl.load(w_ptr + cols[None, :] * K + ks[:, None]), acc_value)
            acc_gate = tl.dot(a, tl.load(w_ptr + (H + cols)[None, :] * K + ks[:, None]), acc_gate)
        value = acc_value.to(tl.bfloat16).to(tl.float32)
        gate = acc_gate.to(tl.bfloat16).to(tl.float32)
        tl.store(out_ptr + rows[:, None] * H + cols[None, :], (value * gate * tl.sigmoid(gate)).to(tl.bfloat16),
                 mask=live)


# (block_m, block_n, block_k, warps, stages): the up projection's the fastest of 26 tile shapes (plain and TMA
# descriptors, persistent or not) at 32K tokens, the down projection's (K = 512) of 3 (runs/gpu29/ab_run2.txt)
MLP_UP_SHAPE = (128, 64, 64, 8, 3)
MLP_DOWN_SHAPE = (128, 256, 64, 8, 4)


def gated_mlp_applies(normed: torch.Tensor, mlp) -> bool:
    """Whether gated_mlp_residual serves this input (..., D) and GatedMLP: widths that the tiles divide, no biases."""
    return (normed.shape[-1] % MLP_UP_SHAPE[2] == 0 and mlp.down.in_features % MLP_UP_SHAPE[1] == 0
            and mlp.up.bias is None and mlp.down.bias is None)


def gated_mlp_residual(normed: torch.Tensor, mlp, residual: torch.Tensor) -> torch.Tensor:
    """residual + mlp(normed) in residual's dtype (mlp a block.GatedMLP; see gated_mlp_applies): the up projection
    writes value * silu(gate) (bf16, H wide) instead of value and gate (2H), and the down projection adds the
    residual in its epilogue (`linear_residual`). The same products and roundings as `linear_residual(linear(
    normed, up), down, residual, gated=True)`."""
    K = normed.shape[-1]
    H = mlp.down.in_features
    block_m, block_n, block_k, num_warps, num_stages = MLP_UP_SHAPE
    a = normed.reshape(-1, K).to(torch.bfloat16).contiguous()
    hidden = torch.empty(a.shape[0], H, device=a.device, dtype=torch.bfloat16)
    _up_gated_kernel[(triton.cdiv(a.shape[0], block_m), H // block_n)](
        a, bf16_weight(mlp.up.weight), hidden, a.shape[0], K=K, H=H, BLOCK_M=block_m, BLOCK_N=block_n,
        BLOCK_K=block_k, num_warps=num_warps, num_stages=num_stages)
    return _launch(hidden, None, None, mlp.down, residual, False, MLP_DOWN_SHAPE)


def gated_mlp_residual_reference(normed: torch.Tensor, mlp, residual: torch.Tensor) -> torch.Tensor:
    value, gate = F.linear(normed.float(), mlp.up.weight.float()).chunk(2, dim=-1)
    return residual.float() + F.linear(value * F.silu(gate), mlp.down.weight.float())
