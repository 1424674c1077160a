"""Session 10: the chunk embedding's sum and L2 norm in one pass (measured in ab.py; not shipped: it belongs in
supervisor.ChunkEmbeddingHead, outside this session's files)."""
import torch
import triton
import triton.language as tl


# ---- chunk embedding: sum and L2 norm -----------------------------------------------------------------------------
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


def normalized_sum(a: torch.Tensor, b: torch.Tensor | None = None, eps: float = 1e-12,
               block_r: int = 4) -> torch.Tensor:
    """`F.normalize(a.float() + b.float(), dim=-1)` (b optional) in one pass, float32 (the chunk embedding: the
    contextual and lexical parts summed and L2-normalised). Plain version: that expression."""
    E = a.shape[-1]
    has_b = b is not None
    a = a.contiguous()
    b = b.contiguous() if has_b else a
    out = torch.empty(a.shape, device=a.device, dtype=torch.float32)
    n = a.numel() // E
    _normalized_sum_kernel[(triton.cdiv(n, block_r),)](a, b, out, n, E, eps, HAS_B=has_b, BLOCK_R=block_r,
                                                   BLOCK_E=triton.next_power_of_2(E), num_warps=4)
    return out
