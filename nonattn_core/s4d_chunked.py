"""Chunked S4D convolution for inference: the same causal convolution as `fft_causal_conv` with the S4D kernel,
computed block by block with matrix products (the chunked form of a linear recurrence, as in Mamba-2's SSD).

Within a block of T tokens each channel applies a (T, T) lower-triangular Toeplitz matrix of the kernel's first T
taps (D on its diagonal). Across blocks the diagonal complex state (H, n) carries the rest: the kernel IS
2 Re(sum_n C_n Bbar_n Abar_n^l), so the taps beyond T are exactly the state's response, nothing is truncated.
The state after block c is Abar^T (state after block c-1) + (block c's own contribution): again a linear
recurrence, solved with dense (G, G) decay matrices over groups of G blocks and a doubling scan over the groups.

Everything but the inputs depends on the weights alone, so a plan of matrices is built once per layer and reused
for every piece length. `S4DConv.forward` takes this path on GPUs when no gradient is needed; with Triton present
the same maths runs as three Triton kernels (triton_s4d.py, `triton_chunked_s4d_conv`; `USE_TRITON` turns it off),
the torch matmuls below being the fallback and the path of explicit block sizes. The FFT path (and
`S4DConv.reference`, the recurrence) stay the specification, and `gpu_check` / tests compare them.

    u (B, H, L) -> blocks (H, B*nb, T) -> local states  = blocks @ state_in          (H, B*nb, 2n)
                                       -> states before each block (scan)             (H, n, B, nb) complex
                                       -> y = before @ state_out + blocks @ toeplitz  (H, B*nb, T)
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass

import torch

from . import triton_ops, triton_s4d
from .s4d import powers

# CPUs: blocks of 128 tokens, groups of 16 blocks (the fastest of 64/128/256 x 4..32 for 4096-token pieces, 2-core
# Xeon); pieces under SHORT_PIECE tokens (a short document, the held-back tail) take blocks of 32: a layer's block
# matrices are then 1/16 the size, and reading them, not the arithmetic, is what a short piece costs.
BLOCK, GROUP = 128, 16   # tokens per block (the Toeplitz matrices are (BLOCK, BLOCK) per channel), blocks per group
BLOCK_SHORT, SHORT_PIECE = 32, 1024
# GPUs: blocks of 512 for long pieces (the fastest of five settings at 1M bf16 tokens on an H100), of 256 below
# LONG_PIECE tokens, where the (T + 2n, T) matmul over few rows per channel runs slowly (BENCH_NOTES.md)
BLOCK_GPU, GROUP_GPU = 512, 16
BLOCK_GPU_SHORT, LONG_PIECE = 256, 1 << 18
# GPUs with Triton: the three-kernel form of the same maths (triton_s4d.py) instead of the matmuls below, for
# calls that leave block and group to this module. Channels-last inputs (the model's (B, L, H) activations seen
# as (B, H, L)) are read in place when TRITON_STRIDED, else copied channels-first first (triton_ops).
USE_TRITON = True
TRITON_STRIDED = False


@dataclass
class ChunkPlan:
    """Matrices of one S4D layer for blocks of `block` tokens (all float32 / complex64, on the layer's device)."""
    block: int
    group: int
    dtA: torch.Tensor           # (H, n) complex: dt * A, so Abar = exp(dtA)
    toeplitz: torch.Tensor      # (H, T, T) [s, t] = K_(t-s) for t >= s, plus D at t == s: y_block = u_block @ toeplitz
    state_in: torch.Tensor      # (H, T, 2n) [s, (k, re/im)] = Bbar_k Abar_k^(T-1-s): a block's own end state
    state_out: torch.Tensor     # (H, 2n, T) [(k, re/im), t]: y_t += 2 Re(C_k Abar_k^(t+1) x_k) for a state x at block start
    group_decay: torch.Tensor   # (H, n, G, G) complex [j, i] = Abar^(T (i-j)) for i >= j, else 0
    group_rise: torch.Tensor    # (H, n, G) complex [i] = Abar^(T (i+1))

    def __post_init__(self):
        # per dtype, never replaced: callers alternating float32 and bf16 do not rebuild them, and CUDA graphs
        # that captured their addresses (cuda_graphs.py) keep reading live memory
        self.cast: dict = {}

    def stacked(self, dtype: torch.dtype) -> torch.Tensor:
        """(H, T + 2n, T): toeplitz over state_out, for rows [u block | entering state] (made once per dtype)."""
        key = ("stacked", dtype)
        if key not in self.cast:
            self.cast[key] = torch.cat([self.toeplitz, self.state_out], dim=1).to(dtype).contiguous()
        return self.cast[key]

    def matrices(self, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """toeplitz, state_in, state_out in `dtype` (copies made once per dtype)."""
        if dtype == torch.float32:
            return self.toeplitz, self.state_in, self.state_out
        if dtype not in self.cast:
            self.cast[dtype] = (self.toeplitz.to(dtype), self.state_in.to(dtype), self.state_out.to(dtype))
        return self.cast[dtype]

    def tensors(self) -> list[torch.Tensor]:
        """Every tensor of the plan, cached casts included."""
        held = [self.dtA, self.toeplitz, self.state_in, self.state_out, self.group_decay, self.group_rise]
        for value in self.cast.values():
            held += list(value) if isinstance(value, tuple) else [value]
        return held


def build_plan(conv, block: int = BLOCK, group: int = GROUP, device=None) -> ChunkPlan:
    """The matrices of `conv` (an S4DConv) for blocks of `block` tokens."""
    with torch.no_grad(), torch.autocast(device_type=torch.device(device or "cpu").type, enabled=False):
        dtA, C, Bbar = conv.kernel.discretize()
        dtA, C, Bbar = dtA.to(device), C.to(device), Bbar.to(device)
        H, n = dtA.shape
        re, im = powers(dtA, torch.arange(block + 1, device=dtA.device, dtype=torch.float32))
        abar_pow = torch.complex(re, im)                                       # (H, n, T+1): Abar^l
        kernel = 2 * (C * Bbar).unsqueeze(-1).mul(abar_pow[..., :block]).sum(1).real   # (H, T): K_l
        lag = torch.arange(block, device=dtA.device)
        lag = lag.view(1, -1) - lag.view(-1, 1)                                # [s, t] = t - s
        toeplitz = kernel[:, lag.clamp(min=0)] * (lag >= 0)                    # (H, T, T)
        toeplitz = toeplitz + torch.diag_embed(conv.D.float().to(device).unsqueeze(-1).expand(H, block))
        own = Bbar.unsqueeze(-1) * abar_pow[..., :block].flip(-1)              # (H, n, T): Bbar Abar^(T-1-s)
        state_in = torch.view_as_real(own.transpose(1, 2).contiguous()).reshape(H, block, 2 * n)
        response = C.unsqueeze(-1) * abar_pow[..., 1:]                         # (H, n, T): C Abar^(t+1)
        state_out = torch.stack([2 * response.real, -2 * response.imag], dim=2).reshape(H, 2 * n, block)
        steps = torch.arange(group, device=dtA.device)
        steps = steps.view(1, -1) - steps.view(-1, 1)                          # [j, i] = i - j
        decay = torch.exp(dtA[..., None, None] * (block * steps.clamp(min=0)))
        group_decay = decay * (steps >= 0)
        group_rise = torch.exp(dtA.unsqueeze(-1) * (block * torch.arange(1, group + 1, device=dtA.device)))
    return ChunkPlan(block, group, dtA, toeplitz.contiguous(), state_in.contiguous(), state_out.contiguous(),
                     group_decay.contiguous(), group_rise.contiguous())


_plans: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def plan_for(conv, device, block: int = BLOCK, group: int = GROUP) -> ChunkPlan:
    """The cached plan of `conv` for (block, group, device), all rebuilt whenever one of its parameters changed
    (in place or replaced); plans for other block sizes are kept alongside."""
    weights = tuple((p.data_ptr(), p._version) for p in conv.parameters())
    cached = _plans.get(conv)
    if cached is None or cached[0] != weights:
        cached = _plans[conv] = (weights, {})
    key = (block, group, str(device))
    if key not in cached[1]:
        cached[1][key] = build_plan(conv, block, group, device)
    return cached[1][key]


def cached_tensors() -> list[torch.Tensor]:
    """Every tensor of every cached plan (cuda_graphs keeps these alive while a graph that may read them lives)."""
    return [t for _, plans in list(_plans.values()) for plan in plans.values() for t in plan.tensors()]


def scan_blocks(local: torch.Tensor, plan: ChunkPlan, initial: torch.Tensor | None) -> torch.Tensor:
    """States after each block: s_c = Abar^T s_(c-1) + local_c, s_(-1) = initial.

    local (H, n, B, m) complex, initial (H, n, B) complex or None -> (H, n, B, m).
    """
    H, n, B, m = local.shape
    G, T = min(plan.group, m), plan.block  # fewer blocks than a group: one group of m (short pieces stay cheap)
    decay_within, rise = plan.group_decay[..., :G, :G], plan.group_rise[..., :G]
    groups = -(-m // G)
    if groups * G != m:
        local = torch.cat([local, local.new_zeros(H, n, B, groups * G - m)], dim=-1)
    within = torch.matmul(local.reshape(H, n, B * groups, G), decay_within).view(H, n, B, groups, G)
    carry = within[..., -1]                                                    # (H, n, B, groups)
    step = 1
    while step < groups:                                                       # doubling scan over groups
        decay = torch.exp(plan.dtA * (T * G * step))[..., None, None]
        carry = torch.cat([carry[..., :step], carry[..., step:] + decay * carry[..., :-step]], dim=-1)
        step *= 2
    if initial is not None:
        reach = torch.arange(1, groups + 1, device=local.device) * (T * G)
        carry = carry + torch.exp(plan.dtA.unsqueeze(-1) * reach).unsqueeze(2) * initial.unsqueeze(-1)
        first = initial.unsqueeze(-1)
    else:
        first = carry.new_zeros(H, n, B, 1)
    before_group = torch.cat([first, carry[..., :-1]], dim=-1)                 # (H, n, B, groups)
    after = within + before_group.unsqueeze(-1) * rise[:, :, None, None, :]
    return after.reshape(H, n, B, groups * G)[..., :m]


def chunked_s4d_conv(conv, u: torch.Tensor, state: torch.Tensor | None = None,
                     block: int | None = None, group: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """What `S4DConv.forward` returns (y (B, H, L) incl. the D term, new state (B, H, n) complex64), by blocks.

    float32 matmuls, except for bf16 inputs: then the block matmuls take bf16 operands (float32 accumulation) and
    y is bf16; the scan across blocks and the returned state stay complex64. On CPUs with bf16 products this took
    the layer from 6.7 to 4.6 ms a 4096-token piece, chunk embeddings as close to float32's as before (cosine
    >= 0.99995 over 65K tokens).
    """
    if u.is_cuda and block is None and group is None and USE_TRITON and triton_s4d.available():
        return triton_chunked_s4d_conv(conv, u, state)
    if u.is_cuda:
        block = block or (BLOCK_GPU if u.shape[0] * u.shape[-1] >= LONG_PIECE else BLOCK_GPU_SHORT)
    else:
        block = block or (BLOCK if u.shape[-1] >= SHORT_PIECE else BLOCK_SHORT)
    group = group or (GROUP_GPU if u.is_cuda else GROUP)
    plan = plan_for(conv, u.device, block, group)
    dtype = torch.bfloat16 if u.dtype == torch.bfloat16 else torch.float32
    toeplitz, state_in, state_out = plan.matrices(dtype)
    B, H, L = u.shape
    T = plan.block
    n = plan.dtA.shape[1]
    nb = -(-L // T)
    wide = u.is_cuda and u.transpose(1, 2).is_contiguous() and triton_ops.available()
    if wide:    # rows [u block (T) | state entering the block (2n)]: y is then one matmul, written once
        rows = triton_ops.to_channels_first(u.transpose(1, 2), nb * T, dtype, row=T, width=T + 2 * n)
        blocks = rows[..., :T]                                                 # (H, B*nb, T), row stride T + 2n
    else:
        blocks = u.new_empty(H, B, nb * T, dtype=dtype)
        blocks[..., :L].copy_(u.transpose(0, 1))                               # one (transposing) copy
        blocks[..., L:].zero_()
        blocks = blocks.view(H, B * nb, T)
    local = torch.view_as_complex(torch.bmm(blocks, state_in).float().view(H, B, nb, n, 2))  # (H, B, nb, n)
    initial = state.permute(1, 2, 0) if state is not None else None           # (H, n, B)
    after = scan_blocks(local.permute(0, 3, 1, 2), plan, initial)             # (H, n, B, nb)
    first = initial.unsqueeze(-1) if initial is not None else after.new_zeros(H, n, B, 1)
    before = torch.cat([first, after[..., :-1]], dim=-1)                       # state entering each block
    before = torch.view_as_real(before.permute(0, 2, 3, 1)).reshape(H, B * nb, 2 * n)
    if wide:
        rows[..., T:].copy_(before)
        y = torch.bmm(rows, plan.stacked(dtype))                               # (H, B*nb, T)
    else:
        y = torch.bmm(before.to(dtype), state_out).baddbmm_(blocks, toeplitz)  # (H, B*nb, T)
    rest = L - (nb - 1) * T                                                    # tokens in the last block
    if rest == T:
        final = after[..., -1]
    else:                                                                      # the padding must not decay it
        last = blocks.view(H, B, nb, T)[:, :, -1, :rest]                       # (H, B, rest)
        own = torch.view_as_complex(torch.bmm(last, state_in[:, T - rest:]).float().view(H, B, n, 2))
        entering = torch.view_as_complex(before.view(H, B, nb, n, 2)[:, :, -1].contiguous()).transpose(1, 2)
        final = torch.exp(plan.dtA * rest).unsqueeze(-1) * entering + own.transpose(1, 2)
    y = y.view(H, B, nb * T)[..., :L].transpose(0, 1)                          # (B, H, L) view
    return y, final.permute(2, 0, 1).contiguous()


def triton_chunked_s4d_conv(conv, u: torch.Tensor, state: torch.Tensor | None = None,
                            strided: bool | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """`chunked_s4d_conv` by the Triton kernels of triton_s4d.py: y (B, H, L) contiguous (bf16 for bf16 inputs,
    else float32), new state (B, H, n) complex64."""
    plan = plan_for(conv, u.device, triton_s4d.BLOCK, GROUP_GPU)
    dtype = torch.bfloat16 if u.dtype == torch.bfloat16 else torch.float32
    strided = TRITON_STRIDED if strided is None else strided
    if u.stride(2) != 1 and not strided and u.shape[-1] > 0:
        B, H, L = u.shape
        if u.transpose(1, 2).is_contiguous():                                  # channels last: one transposing copy
            u = triton_ops.to_channels_first(u.transpose(1, 2), L, dtype).permute(1, 0, 2)   # (B, H, L) view
        else:
            u = u.to(dtype).contiguous()
    return triton_s4d.s4d_conv(plan, u.to(dtype), state)
