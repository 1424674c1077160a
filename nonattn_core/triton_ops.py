"""Fused GPU kernels (Triton) for inference, each next to the plain torch expression it replaces.

- `dilated_taps_gelu`: MultiResolutionConv's gated sum of all dilated depthwise taps, bias and GELU in one pass
  over the (B, L, D) input (the five dilations' 15 taps fall on 7 distinct shifts, their gated weights summed
  per shift). Plain version: the shifted multiply-adds of `MultiResolutionConv.forward`; spec: `.reference`.
- `gelu_gate`: SSMMixer's `gelu(y) * silu(gate)` reading the long convolution's (B, H, L) float32 output in place
  and writing (B, L, H) in the gate's dtype: transpose, two activations, product and cast in one pass.
- `table_rows`: the token table's rows for the ids, gathered and cast in one pass (the embedding's first step).
- `to_channels_first`: (B, L, H) activations -> (H, B, Lp), zero-padded: the long convolution's input.
- `rms_norm`: RMSNorm in one pass (float32 arithmetic); plain version: `block.RMSNorm`'s expression.
  `rms_norm_channels_first` writes it (D, B, L): the SSM mixer's input on the fused path (block.py).
- `silu_mul`: GatedMLP's `value * silu(gate)` from the up projection's output in one pass.
- `gru_by_steps`: the supervisor's GRU as one fused kernel per step (matvec + gates), for CUDA-graph capture.
- `gru_persistent`: the same steps, all in one launch: programs keep their weight rows in registers and meet at a
  grid barrier after each step. `PersistentGRU` launches them in spans (the first states readable early).
- `feature_sums`: the model's chunk features (lower-block outputs, weighted token-table rows) summed over each
  chunk in one pass, the features never written out. Plain version: `feature_sums_reference`. `feature_means`
  also adds the carried partial sum and writes the means: the chunk step's sums, counts and division in that pass.
- `add_rows`: `x + rows[:, (arange(T) + lead) // run]` in one pass (each token's supervisor state added to the upper blocks' input).
- `normalized_sum`: the chunk embedding's `F.normalize(contextual + lexical)` in one pass.
- `mask_later`, `retrieved_mean`: retrieval of earlier chunks around torch's top-k: the later chunks' scores
  masked in place, and the mean of each chunk's top-k earlier chunks (gather, finite mask, mean) in one pass.

Triton is imported lazily; `available()` says whether these can run (a CUDA device and Triton present).
"""
from __future__ import annotations

import torch

from .bf16_weights import linear
from .multires_conv import merged_taps

try:
    import triton
    import triton.language as tl
except ImportError:                                                    # CPU-only installs
    triton = None


def available() -> bool:
    return triton is not None and torch.cuda.is_available()


# ---- merged dilated taps ------------------------------------------------------------------------------------------
_merged: dict = {}


def _cached_taps(conv, device):
    key = (id(conv), str(device), tuple((p.data_ptr(), p._version) for p in conv.parameters()))
    if key not in _merged:
        if len(_merged) > 64:
            _merged.clear()
        with torch.no_grad():
            shifts, weights, bias = merged_taps(conv)
        _merged[key] = (tuple(shifts), weights.t().contiguous().to(device), bias.to(device))   # weights (S, D)
    return _merged[key]


def cached_tensors() -> list[torch.Tensor]:
    """The merged tap weights and biases cached for the fused taps kernel (see cuda_graphs.graphed_blocks)."""
    return [t for _, weights, bias in list(_merged.values()) for t in (weights, bias)]


if triton is not None:
    @triton.jit
    def _taps_tile(x_tile, tail_ptr, w_ptr, new_tail_ptr, acc, b, first_row, local, cols, live_row, L,
                   D: tl.constexpr, TAIL: tl.constexpr, SHIFTS: tl.constexpr, BLOCK_L: tl.constexpr,
                   IN_TAIL: tl.constexpr, WRITE_TAIL: tl.constexpr):
        """acc + the tile's taps. IN_TAIL: some shifted rows lie in the tail (the first tiles of a piece after
        another); a separate compiled body, so the other tiles' loop carries no tail branch."""
        for j in tl.static_range(len(SHIFTS)):
            src = local - SHIFTS[j]
            in_x = (live_row & (first_row + src >= 0))[:, None]
            value = tl.load(x_tile + src[:, None] * D + cols[None, :], mask=in_x, other=0.0)
            if WRITE_TAIL:
                if SHIFTS[j] == 0:
                    if first_row + BLOCK_L > L - TAIL:                  # only the last tiles hold the new tail
                        at = first_row + local - (L - TAIL)
                        tl.store(new_tail_ptr + b * D * TAIL + cols[None, :] * TAIL + at[:, None], value,
                                 mask=(live_row & (at >= 0))[:, None])
            value = value.to(tl.float32)
            if IN_TAIL:
                in_tail = (live_row & (first_row + src < 0))[:, None]
                at = first_row + src + TAIL                             # position in the tail
                value += tl.load(tail_ptr + b * D * TAIL + cols[None, :] * TAIL + at[:, None], mask=in_tail,
                                 other=0.0).to(tl.float32)
            acc += value * tl.load(w_ptr + j * D + cols)[None, :]
        return acc

    @triton.jit
    def _taps_gelu_kernel(x_ptr, tail_ptr, w_ptr, bias_ptr, out_ptr, new_tail_ptr, L, D: tl.constexpr,
                          TAIL: tl.constexpr, SHIFTS: tl.constexpr, BLOCK_L: tl.constexpr, BLOCK_D: tl.constexpr,
                          STEPS: tl.constexpr, HAS_TAIL: tl.constexpr, WRITE_TAIL: tl.constexpr):
        # SHIFTS is a tuple of compile-time shifts: row offsets, masks and alignment are known to the compiler.
        # A program does STEPS tiles down the sequence: the rows its shifted loads read again are recent (L1).
        # HAS_TAIL False: the earlier inputs are zeros (a document's start). WRITE_TAIL: the last TAIL rows of x
        # (L >= TAIL) are also written, transposed, as the next piece's tail (B, D, TAIL).
        b = tl.program_id(2).to(tl.int64)
        local = tl.arange(0, BLOCK_L)                                   # rows of a tile, relative to first_row
        cols = tl.program_id(1) * BLOCK_D + tl.arange(0, BLOCK_D)      # BLOCK_D divides D: no column mask
        bias = tl.load(bias_ptr + cols)[None, :]
        for step in tl.static_range(STEPS):
            first_row = (tl.program_id(0) * STEPS + step) * BLOCK_L
            live_row = first_row + local < L
            x_tile = x_ptr + (b * L + first_row) * D                    # 64-bit base, 32-bit offsets in the tile
            acc = tl.zeros((BLOCK_L, BLOCK_D), tl.float32) + bias
            in_tail = False
            if HAS_TAIL:
                in_tail = first_row < TAIL
            if in_tail:
                acc = _taps_tile(x_tile, tail_ptr, w_ptr, new_tail_ptr, acc, b, first_row, local, cols, live_row, L,
                                 D, TAIL, SHIFTS, BLOCK_L, True, WRITE_TAIL)
            else:
                acc = _taps_tile(x_tile, tail_ptr, w_ptr, new_tail_ptr, acc, b, first_row, local, cols, live_row, L,
                                 D, TAIL, SHIFTS, BLOCK_L, False, WRITE_TAIL)
            out = 0.5 * acc * (1.0 + tl.erf(acc * 0.7071067811865476))  # exact GELU, as F.gelu
            tl.store(out_ptr + (b * L + first_row) * D + local[:, None] * D + cols[None, :],
                     out.to(out_ptr.dtype.element_ty), mask=live_row[:, None])


# (block_l, block_d, num_warps, steps) of dilated_taps_gelu: see its docstring
TAPS_SHAPE = (64, 64, 4, 1)


def dilated_taps_gelu(conv, x: torch.Tensor, tail: torch.Tensor | None, out_dtype: torch.dtype,
                      block_l: int | None = None, block_d: int | None = None, num_warps: int | None = None,
                      steps: int | None = None):
    """gelu(sum of gated dilated taps + bias) (B, L, D) in `out_dtype`, and the new tail (B, D, tail_len).

    Blocks of 8 x 128 were the fastest of 16 shapes on an H100 (runs/gpu23/sweep_run2.txt; 8 x 256 before:
    81.3 -> 70.5 us at 32K tokens, 1.24 -> 1.15 ms at 1M); each program doing 4 of them down the sequence, the
    fastest of 15 shapes at 32K inside a CUDA graph (runs/gpu25/ab2_run3.txt: 41.3 -> 36.9 us). No tail (a
    document's start) reads none, and the kernel writes the new tail (runs/gpu28: a zero fill and a transposing
    copy fewer, and tiles that do not reach into a tail compiled without that branch: 34 -> 28 us at 32K). With that
    code, tiles of 64 x 64, one a program (TAPS_SHAPE), were the fastest of 14 shapes: 31.8 -> 22.3 us at 32K,
    22.6 -> 16.9 at 24K, 8.3 -> 7.0 at 8K (runs/gpu29/ab_run2.txt)."""
    given = (block_l, block_d, num_warps, steps)
    block_l, block_d, num_warps, steps = (g or d for g, d in zip(given, TAPS_SHAPE))
    B, L, D = x.shape
    x = x.contiguous()
    if tail is None and L < conv.tail_len:                             # the new tail holds zeros of the old
        tail = conv.empty_tail(B, D, x.device, x.dtype)
    tail = tail.contiguous() if tail is not None else None
    shifts, weights, bias = _cached_taps(conv, x.device)
    out = torch.empty(B, L, D, device=x.device, dtype=out_dtype)
    write_tail = L >= conv.tail_len
    new_tail = torch.empty(B, D, conv.tail_len, device=x.device, dtype=x.dtype) if write_tail else None
    block_d = min(block_d, D & -D)                                     # a power of two that divides D
    grid = (triton.cdiv(L, block_l * steps), D // block_d, B)
    _taps_gelu_kernel[grid](x, x if tail is None else tail, weights, bias, out, x if new_tail is None else new_tail,
                            L, D=D, TAIL=conv.tail_len, SHIFTS=shifts, BLOCK_L=block_l, BLOCK_D=block_d,
                            STEPS=steps, HAS_TAIL=tail is not None, WRITE_TAIL=write_tail, num_warps=num_warps)
    if not write_tail:
        new_tail = torch.cat([tail.to(x.dtype), x.transpose(1, 2)], dim=-1)[..., -conv.tail_len:].contiguous()
    return out, new_tail


# ---- the SSM mixer's gate -----------------------------------------------------------------------------------------
if triton is not None:
    @triton.jit
    def gelu_times_silu(y, gate):
        """gelu(y) * silu(gate) in float32, exact GELU as F.gelu: the SSM mixer's gate (also formed in an output
        projection's loads, triton_block.py)."""
        return 0.5 * y * (1.0 + tl.erf(y * 0.7071067811865476)) * (gate / (1.0 + tl.exp(-gate)))

    @triton.jit
    def _gelu_gate_kernel(y_ptr, gate_ptr, bias_ptr, out_ptr, L, D, stride_yb, stride_yh, stride_gb, stride_gh,
                          stride_gl, HAS_BIAS: tl.constexpr, BLOCK_L: tl.constexpr, BLOCK_D: tl.constexpr):
        b = tl.program_id(2)
        rows = (tl.program_id(0) * BLOCK_L + tl.arange(0, BLOCK_L)).to(tl.int64)
        cols = tl.program_id(1) * BLOCK_D + tl.arange(0, BLOCK_D)
        mask = (rows < L)[:, None] & (cols < D)[None, :]
        y = tl.load(y_ptr + b.to(tl.int64) * stride_yb + cols[None, :].to(tl.int64) * stride_yh + rows[:, None],
                    mask=mask, other=0.0).to(tl.float32)
        g = tl.load(gate_ptr + b.to(tl.int64) * stride_gb + cols[None, :].to(tl.int64) * stride_gh
                    + rows[:, None] * stride_gl, mask=mask, other=0.0).to(tl.float32)
        if HAS_BIAS:
            g += tl.load(bias_ptr + cols, mask=cols < D, other=0.0).to(tl.float32)[None, :]
        out = gelu_times_silu(y, g)
        tl.store(out_ptr + b.to(tl.int64) * L * D + rows[:, None] * D + cols[None, :],
                 out.to(out_ptr.dtype.element_ty), mask=mask)


# (tokens, channels) of a gelu_gate program: 128 x 32 against 64 x 64, 23.3 -> 22.5 us at 32K tokens, 17.7 -> 16.6 at
# 24K on an H100 (runs/gpu29/ab_run2.txt)
GELU_GATE_BLOCK = (128, 32)


def gelu_gate(y: torch.Tensor, gate: torch.Tensor, bias: torch.Tensor | None = None,
              gate_channels_first: bool = False) -> torch.Tensor:
    """gelu(y.transpose(1, 2)) * silu(gate + bias) (B, L, H) in gate's dtype.  y (B, H, L) with unit stride along
    L; gate (B, L, H), or (B, H, L) with unit stride along L when gate_channels_first."""
    B, H, L = y.shape
    assert y.stride(2) == 1
    if gate_channels_first:
        assert gate.shape == (B, H, L) and gate.stride(2) == 1
        stride_gb, stride_gh, stride_gl = gate.stride()
    else:
        gate = gate.contiguous()
        stride_gb, stride_gl, stride_gh = gate.stride()
    out = torch.empty(B, L, H, device=y.device, dtype=gate.dtype)
    block_l, block_d = GELU_GATE_BLOCK
    grid = (triton.cdiv(L, block_l), triton.cdiv(H, block_d), B)
    _gelu_gate_kernel[grid](y, gate, bias if bias is not None else gate, out, L, H, y.stride(0), y.stride(1),
                            stride_gb, stride_gh, stride_gl, HAS_BIAS=bias is not None, BLOCK_L=block_l,
                            BLOCK_D=block_d, num_warps=4)
    return out


def gelu_gate_reference(y: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
    return (torch.nn.functional.gelu(y.transpose(1, 2)).to(gate.dtype) * torch.nn.functional.silu(gate))


# ---- token-table rows ----------------------------------------------------------------------------------------------
if triton is not None:
    @triton.jit
    def _table_rows_kernel(table_ptr, ids_ptr, out_ptr, n, R: tl.constexpr, BLOCK_N: tl.constexpr):
        i = tl.program_id(0) * BLOCK_N + tl.arange(0, BLOCK_N)
        live = (i < n)[:, None]
        rows = tl.load(ids_ptr + i, mask=i < n, other=0).to(tl.int64)
        cols = tl.arange(0, R)
        values = tl.load(table_ptr + rows[:, None] * R + cols[None, :], mask=live, other=0.0)
        tl.store(out_ptr + i.to(tl.int64)[:, None] * R + cols[None, :], values.to(out_ptr.dtype.element_ty),
                 mask=live)


def table_rows(table: torch.Tensor, ids: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """table[ids].to(dtype) (..., R) in one pass: the gathered rows are written once, already cast (the embedding's
    gather and autocast's copy were two launches, 21 + 5.5 us at 32K tokens on an H100). R a power of two."""
    R = table.shape[1]
    flat = ids.reshape(-1).contiguous()
    out = torch.empty(flat.shape[0], R, device=ids.device, dtype=dtype)
    block_n = 32
    _table_rows_kernel[(triton.cdiv(flat.shape[0], block_n),)](table.contiguous(), flat, out, flat.shape[0], R=R,
                                                                BLOCK_N=block_n, num_warps=4)
    return out.view(*ids.shape, R)


# ---- channels-first float32 input of the long convolution --------------------------------------------------------
if triton is not None:
    @triton.jit
    def _channels_first_kernel(x_ptr, out_ptr, L, D, B, Lp, ROW: tl.constexpr, WIDTH: tl.constexpr,
                               BLOCK_L: tl.constexpr, BLOCK_D: tl.constexpr):
        b = tl.program_id(2)
        rows = (tl.program_id(0) * BLOCK_L + tl.arange(0, BLOCK_L)).to(tl.int64)
        cols = tl.program_id(1) * BLOCK_D + tl.arange(0, BLOCK_D)
        live = (rows < L)[:, None] & (cols < D)[None, :]
        x = tl.load(x_ptr + b.to(tl.int64) * L * D + rows[:, None] * D + cols[None, :], mask=live, other=0.0)
        # out (D, B * Lp / ROW, WIDTH): position p of row b goes to [b * Lp / ROW + p // ROW, p % ROW]; zeros after L
        keep = (rows < Lp)[:, None] & (cols < D)[None, :]
        n_rows = B * (Lp // ROW)
        target = (b.to(tl.int64) * (Lp // ROW) + rows // ROW) * WIDTH + rows % ROW
        tl.store(out_ptr + cols[None, :].to(tl.int64) * n_rows * WIDTH + target[:, None],
                 x.to(out_ptr.dtype.element_ty), mask=keep)


def to_channels_first(x: torch.Tensor, padded_length: int, dtype: torch.dtype = torch.float32,
                      row: int | None = None, width: int | None = None) -> torch.Tensor:
    """x (B, L, D) -> (D, B, padded_length) in `dtype`, zeros after L.

    With `row` and `width`: (D, B * padded_length / row, width), each position's row-sized run in the first `row`
    columns of a row (the rest is left for the caller to fill).
    """
    B, L, D = x.shape
    row = row or padded_length
    width = width or row
    x = x.contiguous()
    out = torch.empty(D, B * (padded_length // row), width, device=x.device, dtype=dtype)
    block_l, block_d = 64, 64
    grid = (triton.cdiv(padded_length, block_l), triton.cdiv(D, block_d), B)
    _channels_first_kernel[grid](x, out, L, D, B, padded_length, ROW=row, WIDTH=width, BLOCK_L=block_l,
                                 BLOCK_D=block_d, num_warps=4)
    return out if width != row or row != padded_length else out.view(D, B, padded_length)


# ---- RMSNorm ------------------------------------------------------------------------------------------------------
if triton is not None:
    @triton.jit
    def _rms_norm_kernel(x_ptr, w_ptr, out_ptr, N, D, eps, BLOCK_R: tl.constexpr, BLOCK_D: tl.constexpr):
        first_row = tl.program_id(0).to(tl.int64) * BLOCK_R
        local = tl.arange(0, BLOCK_R)
        cols = tl.arange(0, BLOCK_D)
        mask = (first_row + local < N)[:, None] & (cols < D)[None, :]
        offsets = local[:, None] * D + cols[None, :]
        x = tl.load(x_ptr + first_row * D + offsets, mask=mask, other=0.0).to(tl.float32)
        scale = 1.0 / tl.sqrt(tl.sum(x * x, axis=1) / D + eps)
        w = tl.load(w_ptr + cols, mask=cols < D, other=0.0).to(tl.float32)
        tl.store(out_ptr + first_row * D + offsets, (x * scale[:, None] * w[None, :]).to(out_ptr.dtype.element_ty),
                 mask=mask)


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float, out: torch.Tensor | None = None) -> torch.Tensor:
    """x * rsqrt(mean(x^2) + eps) * weight over the last dim; under autocast the result keeps x's dtype. `out`, if
    given, is written (contiguous, x's shape, that dtype) and returned."""
    out_dtype = x.dtype if torch.is_autocast_enabled("cuda") else torch.promote_types(x.dtype, weight.dtype)
    D = x.shape[-1]
    flat = x.reshape(-1, D).contiguous()
    if out is None:
        out = torch.empty(flat.shape, device=x.device, dtype=out_dtype)
    elif out.shape != x.shape or out.dtype != out_dtype or not out.is_contiguous():
        raise ValueError(f"rms_norm: out {tuple(out.shape)} {out.dtype} for x {tuple(x.shape)} -> {out_dtype}")
    block_r = 16
    _rms_norm_kernel[(triton.cdiv(flat.shape[0], block_r),)](flat, weight, out, flat.shape[0], D, eps,
                                                            BLOCK_R=block_r, BLOCK_D=triton.next_power_of_2(D),
                                                            num_warps=4)
    return out.view(x.shape)


if triton is not None:
    @triton.jit
    def _rms_norm_channels_first_kernel(x_ptr, w_ptr, out_ptr, L, B, eps, D: tl.constexpr, BLOCK_L: tl.constexpr):
        b = tl.program_id(1).to(tl.int64)
        rows = tl.program_id(0) * BLOCK_L + tl.arange(0, BLOCK_L)
        cols = tl.arange(0, D)
        live = (rows < L)[:, None]
        x = tl.load(x_ptr + (b * L + rows)[:, None] * D + cols[None, :], mask=live, other=0.0).to(tl.float32)
        scale = 1.0 / tl.sqrt(tl.sum(x * x, axis=1) / D + eps)
        normed = x * scale[:, None] * tl.load(w_ptr + cols).to(tl.float32)[None, :]
        tl.store(out_ptr + cols[None, :].to(tl.int64) * (B * L) + b * L + rows[:, None],
                 normed.to(out_ptr.dtype.element_ty), mask=live)


def rms_norm_channels_first(x: torch.Tensor, weight: torch.Tensor, eps: float, block_l: int = 32) -> torch.Tensor:
    """rms_norm(x) written channels-first: x (B, L, D) -> (D, B, L) contiguous in x's dtype, one pass (the long
    convolution's input without a separate transposing copy). D a power of two."""
    B, L, D = x.shape
    x = x.contiguous()
    out = torch.empty(D, B, L, device=x.device, dtype=x.dtype)
    _rms_norm_channels_first_kernel[(triton.cdiv(L, block_l), B)](x, weight, out, L, B, eps, D=D, BLOCK_L=block_l,
                                                                   num_warps=4)
    return out


def rms_norm_reference(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    x = x.float()
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight.float()


# ---- GatedMLP's gate ----------------------------------------------------------------------------------------------
if triton is not None:
    @triton.jit
    def _silu_mul_kernel(h_ptr, out_ptr, N, HIDDEN, BLOCK_R: tl.constexpr, BLOCK_C: tl.constexpr):
        first_row = tl.program_id(0).to(tl.int64) * BLOCK_R
        local = tl.arange(0, BLOCK_R)
        cols = tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)
        mask = (first_row + local < N)[:, None] & (cols < HIDDEN)[None, :]
        h_tile = h_ptr + first_row * 2 * HIDDEN + local[:, None] * (2 * HIDDEN) + cols[None, :]
        value = tl.load(h_tile, mask=mask, other=0.0).to(tl.float32)
        gate = tl.load(h_tile + HIDDEN, mask=mask, other=0.0).to(tl.float32)
        out = value * gate / (1.0 + tl.exp(-gate))
        tl.store(out_ptr + first_row * HIDDEN + local[:, None] * HIDDEN + cols[None, :],
                 out.to(out_ptr.dtype.element_ty), mask=mask)


def silu_mul(h: torch.Tensor) -> torch.Tensor:
    """value * silu(gate) for (value, gate) = h.chunk(2, dim=-1), in h's dtype."""
    hidden = h.shape[-1] // 2
    flat = h.reshape(-1, 2 * hidden).contiguous()
    out = torch.empty(flat.shape[0], hidden, device=h.device, dtype=h.dtype)
    block_r, block_c = 16, 128
    grid = (triton.cdiv(flat.shape[0], block_r), triton.cdiv(hidden, block_c))
    _silu_mul_kernel[grid](flat, out, flat.shape[0], hidden, BLOCK_R=block_r, BLOCK_C=block_c, num_warps=4)
    return out.view(*h.shape[:-1], hidden)


def silu_mul_reference(h: torch.Tensor) -> torch.Tensor:
    value, gate = h.chunk(2, dim=-1)
    return value * torch.nn.functional.silu(gate)


# ---- one GRU step -------------------------------------------------------------------------------------------------
if triton is not None:
    @triton.jit
    def _gru_step_kernel(gi_ptr, w_ptr, bias_ptr, h_in_ptr, h_out_ptr, S: tl.constexpr, UNITS: tl.constexpr):
        # torch.nn.GRU: r, z = sigmoid(gi_rz + W_hrz h + b_hrz); n = tanh(gi_n + r * (W_hn h + b_hn));
        # h' = (1 - z) n + z h.  Each program owns UNITS hidden units; gi already holds W_ih x + b_ih.
        units = tl.program_id(0) * UNITS + tl.arange(0, UNITS)
        cols = tl.arange(0, S)
        h = tl.load(h_in_ptr + cols).to(tl.float32)[None, :]
        rows = units[:, None] * S + cols[None, :]
        a_r = tl.sum(tl.load(w_ptr + rows).to(tl.float32) * h, axis=1) + tl.load(bias_ptr + units)
        a_z = tl.sum(tl.load(w_ptr + S * S + rows).to(tl.float32) * h, axis=1) + tl.load(bias_ptr + S + units)
        a_n = tl.sum(tl.load(w_ptr + 2 * S * S + rows).to(tl.float32) * h, axis=1) + tl.load(bias_ptr + 2 * S + units)
        r = tl.sigmoid(tl.load(gi_ptr + units).to(tl.float32) + a_r)
        z = tl.sigmoid(tl.load(gi_ptr + S + units).to(tl.float32) + a_z)
        pre_n = tl.load(gi_ptr + 2 * S + units).to(tl.float32) + r * a_n
        n = 2.0 * tl.sigmoid(2.0 * pre_n) - 1.0                        # tanh
        h_old = tl.load(h_in_ptr + units).to(tl.float32)
        tl.store(h_out_ptr + units, (1.0 - z) * n + z * h_old)


def gru_by_steps(gru, x: torch.Tensor, h0: torch.Tensor, units: int = 16) -> torch.Tensor:
    """gru(x, h0)[0] for batch 1, one layer: the input projection as one matmul, then one fused kernel per step.

    Meant to be captured in a CUDA graph (cuda_graphs.graphed_gru): eagerly it is launch-bound. Plain version: gru.
    """
    S = gru.hidden_size
    gi = linear(x[0], gru.weight_ih_l0, gru.bias_ih_l0).float().contiguous()  # (M, 3S)
    weight = gru.weight_hh_l0.float().contiguous()                                 # (3S, S)
    bias = gru.bias_hh_l0.float().contiguous()
    steps = gi.shape[0]
    out = torch.empty(steps + 1, S, device=x.device, dtype=torch.float32)
    out[0] = h0.reshape(S)
    for t in range(steps):
        _gru_step_kernel[(S // units,)](gi[t], weight, bias, out[t], out[t + 1], S=S, UNITS=units, num_warps=4)
    return out[1:].to(x.dtype).unsqueeze(0)



# ---- all GRU steps in one launch ----------------------------------------------------------------------------------
if triton is not None:
    @triton.jit
    def _gru_persistent_kernel(gi_ptr, w_ptr, bias_ptr, out_ptr, done_ptr, first, last, S: tl.constexpr,
                               UNITS: tl.constexpr, PROGRAMS: tl.constexpr):
        # The same step as _gru_step_kernel, but steps [first, last) in one launch: program p keeps the W_hh rows of
        # its UNITS hidden units in registers, writes its part of h_t into out[t + 1], then marks step t done in
        # done[p] and waits until every program has marked it (a grid barrier: all PROGRAMS run at once). The marks
        # are step numbers, so launches of consecutive spans share one `done` (each starts where the last ended).
        pid = tl.program_id(0)
        units = pid * UNITS + tl.arange(0, UNITS)
        cols = tl.arange(0, S)
        rows = units[:, None] * S + cols[None, :]
        w_r = tl.load(w_ptr + rows)
        w_z = tl.load(w_ptr + S * S + rows)
        w_n = tl.load(w_ptr + 2 * S * S + rows)
        b_r = tl.load(bias_ptr + units)
        b_z = tl.load(bias_ptr + S + units)
        b_n = tl.load(bias_ptr + 2 * S + units)
        programs = tl.arange(0, PROGRAMS)
        for t in range(first, last):
            h = tl.load(out_ptr + t * S + cols, volatile=True)[None, :]
            h_old = tl.load(out_ptr + t * S + units, volatile=True)
            r = tl.sigmoid(tl.load(gi_ptr + t * 3 * S + units) + tl.sum(w_r * h, axis=1) + b_r)
            z = tl.sigmoid(tl.load(gi_ptr + t * 3 * S + S + units) + tl.sum(w_z * h, axis=1) + b_z)
            pre_n = tl.load(gi_ptr + t * 3 * S + 2 * S + units) + r * (tl.sum(w_n * h, axis=1) + b_n)
            n = 2.0 * tl.sigmoid(2.0 * pre_n) - 1.0                    # tanh
            tl.store(out_ptr + (t + 1) * S + units, (1.0 - z) * n + z * h_old)
            tl.debug_barrier()                                         # the program's stores are issued ...
            tl.atomic_xchg(done_ptr + pid, t + 1, sem="release")       # ... before its mark is seen
            slowest = tl.min(tl.atomic_add(done_ptr + programs, 0, sem="acquire"), axis=0)
            while slowest <= t:                                        # (a scalar carried: a tensor crashes triton 3.6)
                slowest = tl.min(tl.atomic_add(done_ptr + programs, 0, sem="acquire"), axis=0)
            tl.debug_barrier()


def gru_persistent_applies(gru, x: torch.Tensor, units: int = 8) -> bool:
    """Whether `gru_persistent` can run this call: batch 1, one unidirectional layer with biases, a power-of-two
    hidden size, and few enough programs to run at once (the barrier waits for all of them)."""
    S = gru.hidden_size
    return (available() and x.is_cuda and x.shape[0] == 1 and gru.num_layers == 1 and gru.bias
            and not gru.bidirectional and S >= units and S & (S - 1) == 0
            and S // units <= torch.cuda.get_device_properties(x.device).multi_processor_count)


def gru_persistent(gru, x: torch.Tensor, h0: torch.Tensor, units: int = 8, num_warps: int = 4) -> torch.Tensor:
    """gru(x, h0)[0] for batch 1, one layer: the input projection as one matmul, then every step in one launch
    (`_gru_persistent_kernel`; S / units programs meet at a barrier after each step). Plain version: gru.

    H100, 256 hidden units, bf16 (runs/gpu23): 2.1 us a step against 3.7 for one kernel per step and 4.9 for
    cuDNN, both replayed from CUDA graphs."""
    steps = PersistentGRU(gru, x, h0, units, num_warps)
    steps.launch(0, steps.n_steps)
    return steps.states[1:].to(x.dtype).unsqueeze(0)


class PersistentGRU:
    """`gru_persistent` launched in spans of steps: `launch(begin, end)` runs steps [begin, end) (each span after
    the one before it, on one stream), so that a caller can read the first states while later steps still run
    (model.py runs the upper blocks over the first chunks beside the GRU's last steps).

    `states` (n_steps + 1, S) float32: h0, then h after each step, written as the steps run; `dtype` is x's.
    On Hopper GPUs the steps run in one thread-block cluster instead (`cuda_gru.py`, ~0.6 us a step against ~2)."""

    def __init__(self, gru, x: torch.Tensor, h0: torch.Tensor, units: int = 8, num_warps: int = 4):
        S = gru.hidden_size
        self.gi = linear(x[0], gru.weight_ih_l0, gru.bias_ih_l0).float().contiguous()  # (M, 3S)
        self.n_steps, self.dtype = self.gi.shape[0], x.dtype
        self.states = torch.empty(self.n_steps + 1, S, device=x.device, dtype=torch.float32)
        self.states[0] = h0.reshape(S)
        self.weight, self.bias = gru.weight_hh_l0.float().contiguous(), gru.bias_hh_l0.float().contiguous()
        self.programs, self.units, self.num_warps = S // units, units, num_warps
        from . import cuda_gru
        self.in_cluster = cuda_gru.applies(S, x.device)                # Hopper: one cluster, no grid barrier
        self.done = None if self.in_cluster else torch.zeros(self.programs, device=x.device, dtype=torch.int32)

    def launch(self, begin: int, end: int) -> None:
        if end > begin and self.in_cluster:
            from . import cuda_gru
            cuda_gru.launch_steps(self.gi, self.weight, self.bias, self.states, begin, end)
        elif end > begin:
            _gru_persistent_kernel[(self.programs,)](self.gi, self.weight, self.bias, self.states, self.done, begin, end,
                                                     S=self.states.shape[1], UNITS=self.units, PROGRAMS=self.programs,
                                                     num_warps=self.num_warps)


# ---- chunk feature sums -------------------------------------------------------------------------------------------
if triton is not None:
    @triton.jit
    def _feature_sums_kernel(x_ptr, ids_ptr, table_ptr, weight_ptr, out_ptr, carry_ptr, means_ptr, T, lead, n_runs,
                             D: tl.constexpr, R: tl.constexpr, RUN: tl.constexpr, BLOCK_T: tl.constexpr,
                             BLOCK_F: tl.constexpr, MEANS: tl.constexpr):
        # One run of RUN positions and BLOCK_F features per program: features [0, D) are x's, [D, D + R) the
        # token's table row times its weight (gathered here, never written out). MEANS: the carried sum (B, D + R)
        # added to the first run, and each sum over the positions its run has seen (lead + T at most) written too.
        run = tl.program_id(0)
        b = tl.program_id(1).to(tl.int64)
        first_col = tl.program_id(2) * BLOCK_F
        steps = tl.arange(0, BLOCK_T)
        acc = tl.zeros((BLOCK_T, BLOCK_F), tl.float32)
        if first_col < D:
            cols = first_col + tl.arange(0, BLOCK_F)
            for start in tl.range(0, RUN, BLOCK_T):
                tokens = run * RUN - lead + start + steps
                live = ((tokens >= 0) & (tokens < T))[:, None]
                acc += tl.load(x_ptr + (b * T + tokens)[:, None] * D + cols[None, :], mask=live,
                               other=0.0).to(tl.float32)
        else:
            cols = first_col - D + tl.arange(0, BLOCK_F)
            for start in tl.range(0, RUN, BLOCK_T):
                tokens = run * RUN - lead + start + steps
                live = (tokens >= 0) & (tokens < T)
                ids = tl.load(ids_ptr + b * T + tokens, mask=live, other=0)
                rows = tl.load(table_ptr + ids[:, None] * R + cols[None, :], mask=live[:, None], other=0.0)
                acc += rows.to(tl.float32) * tl.load(weight_ptr + ids, mask=live, other=0.0).to(tl.float32)[:, None]
        total = tl.sum(acc, axis=0)
        at = (b * n_runs + run) * (D + R) + first_col + tl.arange(0, BLOCK_F)
        if MEANS:
            if run == 0:
                total += tl.load(carry_ptr + b * (D + R) + first_col + tl.arange(0, BLOCK_F))
            tl.store(means_ptr + at, total / (tl.minimum(lead + T, run * RUN + RUN) - run * RUN).to(tl.float32))
        tl.store(out_ptr + at, total)


def feature_sums(x: torch.Tensor, ids: torch.Tensor, run: int, lead: int = 0, table: torch.Tensor | None = None,
                 token_weight: torch.Tensor | None = None, block_t: int = 32) -> torch.Tensor:
    """Sums over runs of `run` positions of each token's features, float32 (B, ceil((lead + T) / run), D + R), as
    `model.sum_runs` over `cat([x.float(), table[ids].float() * token_weight[ids, None]], -1)` (R = table's width;
    no table: x's features alone), the first run short of `lead` positions: one pass over x (B, T, D), the table
    rows gathered as they are summed. Plain version: `feature_sums_reference`."""
    return _feature_sums(x, ids, run, lead, table, token_weight, None, block_t)[0]


def feature_means(x: torch.Tensor, ids: torch.Tensor, run: int, lead: int, table: torch.Tensor | None,
                  token_weight: torch.Tensor | None, carry: torch.Tensor, block_t: int = 32):
    """`feature_sums` with the carried partial sum `carry` (B, D + R) added to the first run, and those sums over
    the positions each run has seen ((B, n, D + R) each): the chunk step's sums and means in the same pass.
    Plain version: `feature_sums_reference`, `sums[:, 0] += carry`, `sums / counts`."""
    return _feature_sums(x, ids, run, lead, table, token_weight, carry.float().contiguous(), block_t)


def _feature_sums(x, ids, run, lead, table, token_weight, carry, block_t):
    B, T, D = x.shape
    R = table.shape[1] if table is not None else 0
    n_runs = -(-(lead + T) // run)
    block_f = min(128, D & -D, R & -R if R else 128)                   # a power of two dividing D and R
    out = torch.empty(B, n_runs, D + R, device=x.device, dtype=torch.float32)
    means = torch.empty_like(out) if carry is not None else None
    x = x.contiguous()
    ids = ids.contiguous()
    _feature_sums_kernel[(n_runs, B, (D + R) // block_f)](
        x, ids, table if table is not None else x, token_weight if token_weight is not None else x, out,
        carry if carry is not None else out, means if means is not None else out, T, lead, n_runs, D=D, R=R,
        RUN=run, BLOCK_T=min(block_t, triton.next_power_of_2(run)), BLOCK_F=block_f, MEANS=carry is not None,
        num_warps=4)
    return out, means


def feature_sums_reference(x: torch.Tensor, ids: torch.Tensor, run: int, lead: int = 0,
                           table: torch.Tensor | None = None, token_weight: torch.Tensor | None = None) -> torch.Tensor:
    from .model import sum_runs
    features = x.float()
    if table is not None:
        features = torch.cat([features, table[ids].float() * token_weight[ids].float().unsqueeze(-1)], dim=-1)
    return sum_runs(features, run, lead)


# ---- rows added by index ------------------------------------------------------------------------------------------
if triton is not None:
    @triton.jit
    def _add_rows_kernel(x_ptr, rows_ptr, out_ptr, T, n_rows, lead, D: tl.constexpr, RUN: tl.constexpr,
                         BLOCK_T: tl.constexpr):
        b = tl.program_id(1).to(tl.int64)
        tokens = tl.program_id(0) * BLOCK_T + tl.arange(0, BLOCK_T)
        live = tokens < T
        cols = tl.arange(0, D)
        which = (tokens + lead) // RUN
        at = (b * T + tokens)[:, None] * D + cols[None, :]
        x = tl.load(x_ptr + at, mask=live[:, None], other=0.0).to(tl.float32)
        row = tl.load(rows_ptr + (b * n_rows + which)[:, None] * D + cols[None, :], mask=live[:, None], other=0.0)
        tl.store(out_ptr + at, (x + row.to(tl.float32)).to(out_ptr.dtype.element_ty), mask=live[:, None])


def add_rows(x: torch.Tensor, rows: torch.Tensor, run: int, lead: int = 0, block_t: int = 16) -> torch.Tensor:
    """x + rows[:, (arange(T) + lead) // run] in x's dtype, in one pass: x (B, T, D), rows (B, n, D) (the supervisor
    state of each token's chunk added to the upper blocks' input; `lead` tokens of the first chunk came in earlier
    pieces). Plain version: that expression."""
    B, T, D = x.shape
    x, rows = x.contiguous(), rows.to(x.dtype).contiguous()
    out = torch.empty_like(x)
    _add_rows_kernel[(triton.cdiv(T, block_t), B)](x, rows, out, T, rows.shape[1], lead, D=D, RUN=run,
                                                   BLOCK_T=block_t, num_warps=4)
    return out


# ---- the chunk embedding: sum and L2 norm ---------------------------------------------------------------------------
if triton is not None:
    @triton.jit
    def _normalized_sum_kernel(a_ptr, b_ptr, out_ptr, N, E, eps, HAS_B: tl.constexpr, BLOCK_R: tl.constexpr,
                               BLOCK_E: tl.constexpr):
        rows = tl.program_id(0) * BLOCK_R + tl.arange(0, BLOCK_R)
        cols = tl.arange(0, BLOCK_E)
        live = (rows < N)[:, None] & (cols < E)[None, :]
        at = rows[:, None].to(tl.int64) * E + cols[None, :]
        v = tl.load(a_ptr + at, mask=live, other=0.0).to(tl.float32)
        if HAS_B:
            v += tl.load(b_ptr + at, mask=live, other=0.0).to(tl.float32)
        norm = tl.maximum(tl.sqrt(tl.sum(v * v, axis=1)), eps)
        tl.store(out_ptr + at, v / norm[:, None], mask=live)


def normalized_sum(a: torch.Tensor, b: torch.Tensor | None = None, eps: float = 1e-12, block_r: int = 4) -> torch.Tensor:
    """`F.normalize(a.float() + b.float(), dim=-1)` (b optional) in one pass, float32: the chunk embedding, its
    contextual and lexical parts summed and L2-normalised. Plain version: that expression."""
    E, has_b = a.shape[-1], b is not None
    a = a.contiguous()
    b = b.contiguous() if has_b else a
    out = torch.empty(a.shape, device=a.device, dtype=torch.float32)
    n = a.numel() // E
    _normalized_sum_kernel[(triton.cdiv(n, block_r),)](a, b, out, n, E, eps, HAS_B=has_b, BLOCK_R=block_r,
                                                       BLOCK_E=triton.next_power_of_2(E), num_warps=4)
    return out


# ---- scores of later chunks masked ----------------------------------------------------------------------------------
if triton is not None:
    @triton.jit
    def _mask_later_kernel(scores_ptr, M, BLOCK: tl.constexpr):
        row = tl.program_id(0).to(tl.int64)                            # (batch, chunk m) flattened
        m = row % M
        cols = tl.arange(0, BLOCK)
        tl.store(scores_ptr + row * M + cols, tl.full([BLOCK], float("-inf"), scores_ptr.dtype.element_ty),
                 mask=(cols >= m) & (cols < M))


def mask_later(scores: torch.Tensor) -> torch.Tensor:
    """scores (B, M, M) with -inf written in place where column j >= row m (chunk j is not earlier than chunk m).
    Plain version: `scores.masked_fill(~torch.ones(M, M, dtype=torch.bool).tril(-1), float("-inf"))`."""
    B, M, _ = scores.shape
    _mask_later_kernel[(B * M,)](scores, M, BLOCK=triton.next_power_of_2(M), num_warps=4)
    return scores


# ---- the mean of the retrieved earlier chunks -----------------------------------------------------------------------
if triton is not None:
    @triton.jit
    def _retrieved_mean_kernel(keys_ptr, index_ptr, values_ptr, out_ptr, M, E, K: tl.constexpr,
                               BLOCK_E: tl.constexpr):
        row = tl.program_id(0).to(tl.int64)                            # (batch, chunk) flattened
        b = row // M
        cols = tl.arange(0, BLOCK_E)
        live = cols < E
        total = tl.zeros([BLOCK_E], dtype=tl.float32)
        count = 0.0
        for j in tl.static_range(K):
            value = tl.load(values_ptr + row * K + j).to(tl.float32)
            valid = (tl.abs(value) < float("inf")).to(tl.float32)      # -inf: fewer than K earlier chunks
            picked = tl.load(index_ptr + row * K + j)
            key = tl.load(keys_ptr + (b * M + picked) * E + cols, mask=live, other=0.0)
            total += key * valid
            count += valid
        tl.store(out_ptr + row * E + cols, total / tl.maximum(count, 1.0), mask=live)


def retrieved_mean(keys: torch.Tensor, index: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """The mean of each chunk's retrieved earlier chunks in one pass: keys (B, M, E) float32, the top-k `index` and
    `values` (B, M, k) of its scores (-inf where fewer than k chunks are earlier) -> (B, M, E). Plain version:
    supervisor.retrieve_earlier's gather, finite mask and masked mean."""
    B, M, E = keys.shape
    out = torch.empty_like(keys)
    _retrieved_mean_kernel[(B * M,)](keys.contiguous(), index.contiguous(), values.contiguous(), out, M, E,
                                     K=index.shape[-1], BLOCK_E=triton.next_power_of_2(E), num_warps=4)
    return out
