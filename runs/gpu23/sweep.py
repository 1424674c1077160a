"""Device experiment (session 7): block shapes of the two Triton kernels that take most of the 32K forward after
the GRU: linear_residual (18 calls, 0.66 ms) and the dilated taps (6 calls, 0.25 ms). Times: ms per call, median
of 7 rounds of 20 back-to-back calls timed with CUDA events; error against the plain float32 expression."""
import itertools

import torch

from nonattn_core import triton_block, triton_ops
from nonattn_core.bench import back_to_back_ms, load_model
from nonattn_core.gpu_check import relative_error


per_call_ms = back_to_back_ms  # (a copy of it here when these ran on the device)


model = load_model("cuda")
block = model.lower[0]
torch.manual_seed(0)
with torch.inference_mode():
    for M in (32768, 1 << 20):
        print(f"## linear_residual, M = {M:,}")
        shapes = {"mlp.down (gated)": (block.mlp.down, 1024, True)} if M == 32768 else {"ssm.out_proj": (block.ssm.out_proj, 256, False), "mlp.down (gated)": (block.mlp.down, 1024, True)}
        for name, (linear, width, gated) in shapes.items():
            a = torch.randn(M, width, device="cuda", dtype=torch.bfloat16)
            res = torch.randn(M, 256, device="cuda", dtype=torch.bfloat16)
            ref = triton_block.linear_residual_reference(a, linear, res, gated)
            w16 = linear.weight.bfloat16()
            b16 = None if linear.bias is None else linear.bias.bfloat16()
            if gated:
                plain = lambda: torch.addmm(res, triton_ops.silu_mul(a), w16.t()) if b16 is None else None
            else:
                plain = lambda: torch.addmm(res, a, w16.t()).add_(b16)
            print(f"{name} | cuBLAS addmm (+ silu_mul) | {per_call_ms(plain):.4f}", flush=True)
            results = []
            for bm, bn, bk, warps, stages in itertools.product((64, 128), (128, 256), (64, 128), (4, 8), (3, 4)):
                try:
                    fn = lambda: triton_block.linear_residual(a, linear, res, gated, bm, bn, bk, warps, stages)
                    err = relative_error(fn().float(), ref)
                    results.append((per_call_ms(fn), bm, bn, bk, warps, stages, err))
                except Exception as error:                             # shared memory too small, etc.
                    results.append((float("inf"), bm, bn, bk, warps, stages, str(error)[:60]))
            for row in sorted(results, key=lambda r: r[0])[:6]:
                print(f"{name} | bm {row[1]} bn {row[2]} bk {row[3]} warps {row[4]} stages {row[5]} | {row[0]:.4f} | err {row[6]}")
            default = [r for r in results if r[1:6] == (128, 128, 64, 8, 3)][0]
            print(f"{name} | default (128, 128, 64, 8, 3) | {default[0]:.4f}", flush=True)

        print(f"## dilated taps + GELU, M = {M:,}")
        conv = block.conv
        x = torch.randn(1, M, 256, device="cuda", dtype=torch.bfloat16)
        ref = conv.reference(x.float()) if M <= 32768 else None
        results = []
        for bl, bd, warps in itertools.product((8, 32, 64, 128), (128, 256), (4, 8)):
            fn = lambda: triton_ops.dilated_taps_gelu(conv, x, None, torch.bfloat16, bl, bd, warps)
            out = fn()[0]
            results.append((per_call_ms(fn), bl, bd, warps))
        for row in sorted(results)[:6]:
            print(f"taps | block_l {row[1]} block_d {row[2]} warps {row[3]} | {row[0]:.4f}")
        print(f"taps | default (8, 256, 4) | {[r for r in results if r[1:] == (8, 256, 4)][0][0]:.4f}", flush=True)

print("## persistent GRU: units per program x warps, ms per call (128 and 4096 steps, bf16)")
gru = model.supervisor.gru
with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
    for steps in (128, 4096):
        xs = torch.randn(1, steps, 256, device="cuda", dtype=torch.bfloat16)
        h0 = torch.randn(1, 1, 256, device="cuda", dtype=torch.bfloat16)
        for units, warps in itertools.product((4, 8, 16), (1, 2, 4)):
            fn = lambda: triton_ops.gru_persistent(gru, xs, h0, units, warps)
            print(f"GRU {steps} steps | units {units} warps {warps} | {per_call_ms(fn, 5, 5):.4f}", flush=True)
