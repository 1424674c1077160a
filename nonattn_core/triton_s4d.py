"""The chunked S4D convolution (s4d_chunked.py) as three Triton kernels that move u and y as few times as possible.

Same maths as `chunked_s4d_conv`: blocks of T tokens, a per-channel (T, T) Toeplitz product within a block (D on
its diagonal), the diagonal complex state (n modes) carried across blocks. Two levels of blocking:

- a *block* is T tokens: rows of the matrix products (Toeplitz, state in, state out);
- a *tile* is M blocks (M * T tokens) of one channel: the unit of one loop step of a program. The states entering
  the blocks of a tile are a scan over its M rows, done in registers (tl.associative_scan); only one state per
  tile ever goes through memory.

Kernels:
  1. `_tile_state_kernel`: reads u once; per tile: local = u_blocks @ state_in (M, n) complex, scanned over the M
     rows -> the tile's own end state (n complex, written). The last tile is read right-aligned (its data ends at
     the tile's last row), so its own end state is the state after token L-1 exactly.
  2. `_tile_scan_kernel`: per (batch, channel): state entering every tile, from the carried state and the tiles'
     own states (decay Abar^(M T) per tile, Abar^(tokens of the last tile) for the last); the last row written is
     the final state.
  3. `_output_kernel`: reads u again; per tile: local states again (a (M, T) x (T, n) product: cheap), the scan over
     rows from the entering state, the exclusive shift (tl.gather), then y = u_blocks @ toeplitz + entering @
     state_out (three tl.dot, float32 accumulation), written once.

Bytes: u read twice, y written once, (B, H, L / (M T), n) complex states: predicted ~1.5x the floor of one read and
one write; measured on an H100 at 1M tokens x 256 channels (BENCH_NOTES.md, runs/gpu9): 2.4x in bf16, 2.7x in
float32 with TF32 products, 3.4x for channels-last bf16 input (copied channels-first first, as the model runs it).
The Toeplitz tile is gathered from the kernel's first T taps (T floats per channel, L1-resident), not from a cached
(H, T, T) matrix. Modes are padded to a power of two >= 16 with zero weights (tl.dot's smallest size).

Inputs: u (B, H, L) with any strides (unit stride along L is the fast case: channels-first); bf16 or float32.
float32 products run as TF32 when torch.backends.cuda.matmul.allow_tf32 is set (as cuBLAS does for the torch path)
and as 3-pass TF32 ("tf32x3", float32 accuracy) otherwise; bf16 inputs use bf16 operands for the u products and
TF32 for the state-out product. States are float32 throughout.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

try:
    import triton
    import triton.language as tl
    from triton.runtime.errors import OutOfResources
except ImportError:                                                    # CPU-only installs
    triton = None

# M = 64 and one program per row (4 warps) against 128 and 2 (8 warps): the three kernels 43.2 -> 38.2 us at 32K
# tokens, 39.9 -> 31.5 at 24K on an H100, the fastest of 9 settings; 1M as before (runs/gpu29/ab_run2.txt, ab_run4.txt)
TILE_BLOCKS = 64        # M: blocks per tile (64 at most for 3-pass TF32: the configuration checked on the H100)
BLOCK = 128             # T: tokens per block
PROGRAMS_PER_ROW = 1    # programs per (batch, channel) in kernels 1 and 3, each looping over its tiles
NUM_WARPS = None        # default: 4 for tiles of up to 64 blocks, else 8 (see s4d_conv)
NUM_STAGES = None       # software-pipelining depth of the tile loops (None: Triton's default)
PRECISE = "tf32x3"      # float32 products when TF32 is off: 3-pass TF32 ("tf32x3") or CUDA-core FMA ("ieee")
SCAN_CHUNK = 128        # tiles per step of the scan across tiles
OWN_BY_WEIGHTS = False  # kernel 1: a tile's own end state as sum_r Abar^(T (M-1-r)) l_r instead of a scan over rows


def available() -> bool:
    return triton is not None and torch.cuda.is_available()


if triton is not None:
    @triton.jit
    def _combine(ar1, ai1, br1, bi1, ar2, ai2, br2, bi2):
        # (a1, b1) then (a2, b2) for h -> a h + b, complex: (a2 a1, a2 b1 + b2)
        return (ar2 * ar1 - ai2 * ai1, ar2 * ai1 + ai2 * ar1,
                ar2 * br1 - ai2 * bi1 + br2, ar2 * bi1 + ai2 * br1 + bi2)

    @triton.jit
    def _row_scan(l_re, l_im, a_re, a_im, M: tl.constexpr, N: tl.constexpr):
        """Inclusive scan over rows of s_r = a s_(r-1) + l_r; l (M, N), a (N,)."""
        A_re = tl.broadcast_to(a_re[None, :], (M, N))
        A_im = tl.broadcast_to(a_im[None, :], (M, N))
        _, _, s_re, s_im = tl.associative_scan((A_re, A_im, l_re, l_im), 0, _combine)
        return s_re, s_im

    @triton.jit
    def _state_in(si_ptr, u_ptr, h, T: tl.constexpr, N: tl.constexpr):
        """Channel h's state_in (T, N) complex, as real and imaginary planes in the dtype of u's products."""
        s = tl.arange(0, T)
        k = tl.arange(0, N)
        at = si_ptr + h * 2 * T * N + s[:, None] * N + k[None, :]
        return tl.load(at).to(u_ptr.dtype.element_ty), tl.load(at + T * N).to(u_ptr.dtype.element_ty)

    @triton.jit
    def _tile_state_kernel(u_ptr, si_ptr, abar_ptr, dta_ptr, own_ptr, L, H, nt, tiles_per_prog,
                           stride_ub, stride_uh, stride_ul,
                           T: tl.constexpr, M: tl.constexpr, N: tl.constexpr, PREC: tl.constexpr,
                           WEIGHTED: tl.constexpr):
        bh = tl.program_id(0)
        b = bh // H
        h = bh % H
        r = tl.arange(0, M)
        s = tl.arange(0, T)
        k = tl.arange(0, N)
        u_base = u_ptr + b.to(tl.int64) * stride_ub + h.to(tl.int64) * stride_uh
        si_re, si_im = _state_in(si_ptr, u_ptr, h, T, N)
        a_re = tl.load(abar_ptr + h * 2 * N + 2 * k)
        a_im = tl.load(abar_ptr + h * 2 * N + 2 * k + 1)
        if WEIGHTED:                                                    # w_r = Abar^(T (M-1-r)): (M, N) complex
            lag = ((M - 1 - r) * T).to(tl.float32)[:, None]
            d_re = tl.load(dta_ptr + h * 2 * N + 2 * k)[None, :]
            d_im = tl.load(dta_ptr + h * 2 * N + 2 * k + 1)[None, :]
            w_mag = tl.exp(d_re * lag)
            w_re = w_mag * tl.cos(d_im * lag)
            w_im = w_mag * tl.sin(d_im * lag)
        for step in range(0, tiles_per_prog):
            t = tl.program_id(1) * tiles_per_prog + step
            start = tl.minimum(t, nt - 1) * (M * T)                   # past the last tile: redo it (same values)
            shift = tl.maximum(start + M * T - L, 0)                  # the last tile right-aligned on token L-1
            pos = start - shift + r[:, None] * T + s[None, :]
            u = tl.load(u_base + pos.to(tl.int64) * stride_ul, mask=(pos >= start) & (pos < L), other=0.0)
            l_re = tl.dot(u, si_re, input_precision=PREC)
            l_im = tl.dot(u, si_im, input_precision=PREC)
            if WEIGHTED:                                                # own end state = sum_r w_r l_r
                own_re = tl.sum(w_re * l_re - w_im * l_im, axis=0)
                own_im = tl.sum(w_re * l_im + w_im * l_re, axis=0)
            else:                                                       # the last row of the scan over rows
                s_re, s_im = _row_scan(l_re, l_im, a_re, a_im, M, N)
                end = (r == M - 1)[:, None]
                own_re = tl.sum(tl.where(end, s_re, 0.0), axis=0)
                own_im = tl.sum(tl.where(end, s_im, 0.0), axis=0)
            out = own_ptr + (bh.to(tl.int64) * nt + tl.minimum(t, nt - 1)) * 2 * N + 2 * k
            tl.store(out, own_re)
            tl.store(out + 1, own_im)

    @triton.jit
    def _tile_scan_kernel(own_ptr, init_ptr, dta_ptr, ent_ptr, final_ptr, H, nt, n, tile_len, last_len,
                          N: tl.constexpr, CH: tl.constexpr, HAS_INIT: tl.constexpr):
        # init (B, H, n) and final (B, H, n) complex, read and written as they lie (no padded copies)
        bh = tl.program_id(0)
        h = bh % H
        k = tl.arange(0, N)
        i = tl.arange(0, CH)
        d_re = tl.load(dta_ptr + h * 2 * N + 2 * k)
        d_im = tl.load(dta_ptr + h * 2 * N + 2 * k + 1)
        mag = tl.exp(d_re * tile_len)
        a_re = mag * tl.cos(d_im * tile_len)
        a_im = mag * tl.sin(d_im * tile_len)
        mag = tl.exp(d_re * last_len)
        la_re = mag * tl.cos(d_im * last_len)
        la_im = mag * tl.sin(d_im * last_len)
        if HAS_INIT:
            c_re = tl.load(init_ptr + bh.to(tl.int64) * 2 * n + 2 * k, mask=k < n, other=0.0)
            c_im = tl.load(init_ptr + bh.to(tl.int64) * 2 * n + 2 * k + 1, mask=k < n, other=0.0)
        else:
            c_re = tl.zeros((N,), tl.float32)
            c_im = tl.zeros((N,), tl.float32)
        ent = ent_ptr + bh.to(tl.int64) * (nt + 1) * 2 * N
        tl.store(ent + 2 * k, c_re)
        tl.store(ent + 2 * k + 1, c_im)
        for start in range(0, nt, CH):
            idx = start + i
            valid = (idx < nt)[:, None]
            src = own_ptr + (bh.to(tl.int64) * nt + idx[:, None]) * 2 * N + 2 * k[None, :]
            b_re = tl.load(src, mask=valid, other=0.0)
            b_im = tl.load(src + 1, mask=valid, other=0.0)
            is_last = (idx == nt - 1)[:, None]
            A_re = tl.where(is_last, la_re[None, :], a_re[None, :])
            A_im = tl.where(is_last, la_im[None, :], a_im[None, :])
            first = (idx == start)[:, None]
            b_re += tl.where(first, A_re * c_re[None, :] - A_im * c_im[None, :], 0.0)
            b_im += tl.where(first, A_re * c_im[None, :] + A_im * c_re[None, :], 0.0)
            _, _, s_re, s_im = tl.associative_scan((A_re, A_im, b_re, b_im), 0, _combine)
            dst = ent + (idx[:, None] + 1) * 2 * N + 2 * k[None, :]
            tl.store(dst, s_re, mask=valid)
            tl.store(dst + 1, s_im, mask=valid)
            final = (idx == nt - 1)[:, None] & (k < n)[None, :]               # the state after token L-1
            at_final = final_ptr + bh.to(tl.int64) * 2 * n + 2 * k[None, :] + 0 * idx[:, None]
            tl.store(at_final, s_re, mask=final)
            tl.store(at_final + 1, s_im, mask=final)
            end = (idx == start + CH - 1)[:, None]
            c_re = tl.sum(tl.where(end, s_re, 0.0), axis=0)
            c_im = tl.sum(tl.where(end, s_im, 0.0), axis=0)

    @triton.jit
    def _output_kernel(u_ptr, kd_ptr, si_ptr, so_ptr, abar_ptr, ent_ptr, y_ptr, L, H, nt, tiles_per_prog,
                       stride_ub, stride_uh, stride_ul, stride_yb, stride_yh,
                       T: tl.constexpr, M: tl.constexpr, N: tl.constexpr, PREC: tl.constexpr,
                       STATE_PREC: tl.constexpr):
        bh = tl.program_id(0)
        b = bh // H
        h = bh % H
        r = tl.arange(0, M)
        s = tl.arange(0, T)
        k = tl.arange(0, N)
        u_base = u_ptr + b.to(tl.int64) * stride_ub + h.to(tl.int64) * stride_uh
        y_base = y_ptr + b.to(tl.int64) * stride_yb + h.to(tl.int64) * stride_yh
        lag = s[None, :] - s[:, None]                                   # [s, t] = t - s
        toep = tl.load(kd_ptr + h * T + lag, mask=lag >= 0, other=0.0).to(u_ptr.dtype.element_ty)   # (T, T)
        si_re, si_im = _state_in(si_ptr, u_ptr, h, T, N)
        so_re = tl.load(so_ptr + h * 2 * N * T + k[:, None] * T + s[None, :])          # (N, T)
        so_im = tl.load(so_ptr + h * 2 * N * T + N * T + k[:, None] * T + s[None, :])
        a_re = tl.load(abar_ptr + h * 2 * N + 2 * k)
        a_im = tl.load(abar_ptr + h * 2 * N + 2 * k + 1)
        prev = tl.broadcast_to(tl.maximum(r - 1, 0)[:, None], (M, N))
        row0 = (r == 0)[:, None]
        for step in range(0, tiles_per_prog):
            t = tl.minimum(tl.program_id(1) * tiles_per_prog + step, nt - 1)   # past the last tile: redo it
            start = t * (M * T)
            pos = start + r[:, None] * T + s[None, :]
            live = pos < L
            offsets = pos.to(tl.int64)
            u = tl.load(u_base + offsets * stride_ul, mask=live, other=0.0)
            l_re = tl.dot(u, si_re, input_precision=PREC)
            l_im = tl.dot(u, si_im, input_precision=PREC)
            e_src = ent_ptr + (bh.to(tl.int64) * (nt + 1) + t) * 2 * N + 2 * k
            e_re = tl.load(e_src)
            e_im = tl.load(e_src + 1)
            l_re += tl.where(row0, (a_re * e_re - a_im * e_im)[None, :], 0.0)
            l_im += tl.where(row0, (a_re * e_im + a_im * e_re)[None, :], 0.0)
            s_re, s_im = _row_scan(l_re, l_im, a_re, a_im, M, N)      # state after each block
            x_re = tl.where(row0, e_re[None, :], tl.gather(s_re, prev, 0))   # state entering each block
            x_im = tl.where(row0, e_im[None, :], tl.gather(s_im, prev, 0))
            acc = tl.dot(u, toep, input_precision=PREC)
            acc = tl.dot(x_re, so_re, acc, input_precision=STATE_PREC)
            acc = tl.dot(x_im, so_im, acc, input_precision=STATE_PREC)
            tl.store(y_base + offsets, acc.to(y_ptr.dtype.element_ty), mask=live)


def _launch(kernel, grid, args, options):
    """kernel[grid](*args, **options); on Triton's out-of-resources (shared memory), again without pipelining."""
    try:
        kernel[grid](*args, **options)
    except OutOfResources:
        if options.get("num_stages") == 1:
            raise
        kernel[grid](*args, **{**options, "num_stages": 1})


def _matrices(plan) -> tuple[torch.Tensor, ...]:
    """kd (H, T): the Toeplitz's first row (K_t, + D at t = 0); si (H, 2, T, n): state_in re / im; so (H, 2, n, T):
    state_out re / im; abar (H, n, 2): Abar^T; dta (H, n, 2): dt A.  Made once per plan, kept in plan.cast."""
    key = "triton_s4d"
    if key not in plan.cast:
        H, T, two_n = plan.state_in.shape
        n = two_n // 2
        pad = _modes(n) - n                 # modes added with zero weights: tl.dot needs >= 16, tl.arange a power of 2
        kd = plan.toeplitz[:, 0, :].contiguous()
        si = F.pad(plan.state_in.view(H, T, n, 2), (0, 0, 0, pad)).permute(0, 3, 1, 2).contiguous()
        so = F.pad(plan.state_out.view(H, n, 2, T), (0, 0, 0, 0, 0, pad)).permute(0, 2, 1, 3).contiguous()
        abar = F.pad(torch.view_as_real(plan.group_rise[..., 0].contiguous()), (0, 0, 0, pad)).contiguous()
        dta = F.pad(torch.view_as_real(plan.dtA.contiguous()), (0, 0, 0, pad)).contiguous()
        plan.cast[key] = (kd, si, so, abar, dta)
    return plan.cast[key]


def _modes(n: int) -> int:
    return max(16, triton.next_power_of_2(n))


def s4d_conv(plan, u: torch.Tensor, state: torch.Tensor | None = None, tile_blocks: int | None = None,
             programs_per_row: int | None = None, num_warps: int | None = None,
             precise: bool | None = None, out: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """y (B, H, L) (u's dtype for bf16, else float32; contiguous) and the final state (B, H, n) complex64.

    `plan` is a ChunkPlan (s4d_chunked.plan_for); its block is T. `tile_blocks` (M): default TILE_BLOCKS, fewer
    for short inputs (a power of two >= 16 covering them). `precise`: 3-pass TF32 for float32 inputs (default:
    unless torch.backends.cuda.matmul.allow_tf32). `out`: where to write y (B, H, L), unit stride along L.
    """
    B, H, L = u.shape
    T = plan.block
    n = plan.dtA.shape[1]
    N = _modes(n)
    kd, si, so, abar, dta = _matrices(plan)
    if u.dtype not in (torch.float32, torch.bfloat16):
        u = u.float()
    if precise is None:
        precise = not torch.backends.cuda.matmul.allow_tf32
    precise = precise and u.dtype == torch.float32                # bf16: TF32 for the state-out product always
    prec = state_prec = PRECISE if precise else "tf32"
    M = tile_blocks or max(16, min(64 if precise else TILE_BLOCKS, triton.next_power_of_2(max(1, -(-L // T)))))
    # warps: one warp group per 64 rows. 8 warps on 64 rows ran 30-50% slower (sweep, BENCH_NOTES.md), and with
    # 3-pass TF32 ended in an illegal memory access on the H100 (Triton 3.6; not diagnosed further: one suspect is
    # the (64, T) x (T, n) products split along n, 8 columns per warp group, cf. triton-lang/triton#10629)
    num_warps = num_warps or NUM_WARPS or (4 if M <= 64 else 8)
    # pipelining stages: 3-pass TF32 keeps high and low halves of every operand in shared memory; with Triton's
    # default depth the output kernel asked for 295 KB on H100 (228 KB available)
    stages = NUM_STAGES or (1 if "tf32x3" in (prec, state_prec) else None)
    stages = {} if stages is None else {"num_stages": stages}
    tile = M * T
    nt = max(1, -(-L // tile))
    per_prog = -(-nt // (programs_per_row or PROGRAMS_PER_ROW))
    progs = -(-nt // per_prog)
    own = torch.empty(B * H, nt, N, 2, device=u.device, dtype=torch.float32)
    ent = torch.empty(B * H, nt + 1, N, 2, device=u.device, dtype=torch.float32)
    y = torch.empty(B, H, L, device=u.device, dtype=u.dtype) if out is None else out
    assert y.shape == (B, H, L) and y.stride(2) == 1 and y.dtype == u.dtype
    if L == 0:
        final = state.clone() if state is not None else torch.zeros(B, H, n, device=u.device, dtype=torch.complex64)
        return y, final
    _launch(_tile_state_kernel, (B * H, progs), (u, si, abar, dta, own, L, H, nt, per_prog, u.stride(0),
            u.stride(1), u.stride(2)), dict(T=T, M=M, N=N, PREC=prec, WEIGHTED=OWN_BY_WEIGHTS, num_warps=num_warps,
                                            **stages))
    init = own if state is None else torch.view_as_real(state.to(torch.complex64).contiguous())
    final = torch.empty(B, H, n, 2, device=u.device, dtype=torch.float32)
    _tile_scan_kernel[(B * H,)](own, init, dta, ent, final, H, nt, n, float(tile), float(L - (nt - 1) * tile), N=N,
                                CH=min(SCAN_CHUNK, max(16, triton.next_power_of_2(nt))), HAS_INIT=state is not None,
                                num_warps=4)
    _launch(_output_kernel, (B * H, progs), (u, kd, si, so, abar, ent, y, L, H, nt, per_prog, u.stride(0),
            u.stride(1), u.stride(2), y.stride(0), y.stride(1)),
            dict(T=T, M=M, N=N, PREC=prec, STATE_PREC=state_prec, num_warps=num_warps, **stages))
    return y, torch.view_as_complex(final)
