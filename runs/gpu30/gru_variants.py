"""runs/gpu30: GRU barrier variants for triton_ops.PersistentGRU (the same step arithmetic as
_gru_persistent_kernel; only how the programs wait for each other differs).
  ctr  one counter: each program adds 1 (release) after writing its part of h_t, and polls the counter with an
       acquire atomic until it reaches PROGRAMS * (t + 1): one address, one atomic a spin, instead of 32 a spin;
  vol  the per-program flags as committed, polled with one plain (volatile) 128-byte load a spin, then one
       fence.acq_rel.gpu once every flag has the step: no atomics in the poll."""
import torch
import triton
import triton.language as tl

from nonattn_core import triton_ops


@triton.jit
def _fence_acq_rel(x):
    return tl.inline_asm_elementwise("fence.acq_rel.gpu; mov.u32 $0, $1;", "=r,r", [x], dtype=tl.int32,
                                     is_pure=False, pack=1)


@triton.jit
def _gru_barrier_kernel(gi_ptr, w_ptr, bias_ptr, out_ptr, done_ptr, first, last, S: tl.constexpr,
                        UNITS: tl.constexpr, PROGRAMS: tl.constexpr, MODE: tl.constexpr):
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
        n = 2.0 * tl.sigmoid(2.0 * pre_n) - 1.0
        tl.store(out_ptr + (t + 1) * S + units, (1.0 - z) * n + z * h_old)
        tl.debug_barrier()
        if MODE == 0:                                                  # ctr
            tl.atomic_add(done_ptr, 1, sem="release")
            target = PROGRAMS * (t + 1)
            seen = tl.atomic_add(done_ptr, 0, sem="acquire")
            while seen < target:
                seen = tl.atomic_add(done_ptr, 0, sem="acquire")
        else:                                                          # vol
            tl.atomic_xchg(done_ptr + pid, t + 1, sem="release")
            slowest = tl.min(tl.load(done_ptr + programs, volatile=True), axis=0)
            while slowest <= t:
                slowest = tl.min(tl.load(done_ptr + programs, volatile=True), axis=0)
            _fence_acq_rel(slowest)
        tl.debug_barrier()


def persistent_gru_class(mode: str, units: int = 8, num_warps: int = 4):
    """A PersistentGRU with this barrier ("base": the committed kernel) and program shape."""

    class Variant(triton_ops.PersistentGRU):
        def __init__(self, gru, x, h0, units_=units, num_warps_=num_warps, n_steps=None):
            super().__init__(gru, x, h0, units, num_warps, n_steps=n_steps)
            if mode == "ctr":
                self.done = torch.zeros(1, device=x.device, dtype=torch.int32)

        def launch(self, begin, end):
            if end <= begin:
                return
            if mode == "base":
                return super().launch(begin, end)
            _gru_barrier_kernel[(self.programs,)](self.gi, self.weight, self.bias, self.states, self.done, begin,
                                                  end, S=self.states.shape[1], UNITS=self.units,
                                                  PROGRAMS=self.programs, MODE=0 if mode == "ctr" else 1,
                                                  num_warps=self.num_warps)
    return Variant
