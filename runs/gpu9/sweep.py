"""Device sweep for the Triton S4D kernels (triton_s4d.py) at 1M tokens x 256 channels: per tiling, errors against
the torch chunked path (float32, TF32 off) and times in float32 (TF32, 3-pass TF32), bf16 channels-first and bf16
channels-last (read in place / copied first). One line per config, flushed; `--start i` resumes after a crash
(harness.py restarts it: an illegal memory access kills the CUDA context).
    PYTHONPATH=. python runs/gpu9/sweep.py --start 0"""
import argparse

import torch

from nonattn_core import triton_ops, triton_s4d
from nonattn_core.bench import cuda_time
from nonattn_core.s4d import S4DConv
from nonattn_core.s4d_chunked import GROUP_GPU, chunked_s4d_conv, plan_for

CONFIGS = [  # T, M, P, warps, stages, what: "fast" (TF32 / bf16 products) or a precise mode; + "w": OWN_BY_WEIGHTS
    (128, 128, 2, 8, None, "fast"), (128, 128, 2, 8, None, "fast w"), (128, 128, 1, 8, None, "fast"),
    (128, 128, 4, 8, None, "fast"), (128, 64, 1, 4, None, "fast w"), (64, 128, 2, 8, None, "fast w"),
    (128, 64, 2, 4, None, "tf32x3"),
]


def rel(a, b):
    return float((a.double() - b.double()).norm() / b.double().norm())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--start", type=int, default=0)
    args = parser.parse_args()
    H, L = 256, 1 << 20
    torch.manual_seed(0)
    layer = S4DConv(H, 32, 1e-4, 1e-1).cuda()
    x = torch.randn(1, H, L, device="cuda")
    state = torch.randn(1, H, 16, device="cuda", dtype=torch.complex64)
    xb = x.bfloat16()
    xcl = xb.transpose(1, 2).contiguous().transpose(1, 2)
    torch.backends.cuda.matmul.allow_tf32 = False
    with torch.no_grad():
        ref32, rs32 = chunked_s4d_conv(layer, x, state, 512, 16)
        ref16, rs16 = chunked_s4d_conv(layer, xb.float(), state, 512, 16)
    torch.backends.cuda.matmul.allow_tf32 = True
    copy_ms = cuda_time(lambda: x.clone(), 10)
    floor32, floor16 = copy_ms, copy_ms / 2
    if args.start == 0:
        print(f"# {torch.cuda.get_device_name()} copy {copy_ms:.3f} ms = {2 * x.numel() * 4 / copy_ms / 1e9:.2f} TB/s; "
              f"floors fp32 {floor32:.3f} bf16 {floor16:.3f} ms")
        with torch.no_grad():
            t32 = cuda_time(lambda: chunked_s4d_conv(layer, x, None, 512, 16), 10)
            t16 = cuda_time(lambda: chunked_s4d_conv(layer, xb, None, 512, 16), 10)
            tcl = cuda_time(lambda: chunked_s4d_conv(layer, xcl, None, 512, 16), 10)
        print(f"torch chunked T=512 G=16 (TF32): fp32 {t32:.3f} ms ({t32 / floor32:.2f}x), bf16 {t16:.3f} ms "
              f"({t16 / floor16:.2f}x), bf16 channels-last {tcl:.3f} ms ({tcl / floor16:.2f}x)")
        print("| i | T | M | P | warps | stages | mode | err fp32 (TF32 or precise) | err bf16 | err bf16 CL copied "
              "| fp32 ms | x | bf16 ms | x | bf16 CL copied ms | x |")
        print("|" + "---:|" * 16, flush=True)
    for i, (T, M, P, W, S, mode) in enumerate(CONFIGS):
        if i < args.start:
            continue
        triton_s4d.NUM_STAGES = S
        precise = not mode.startswith("fast")
        triton_s4d.OWN_BY_WEIGHTS = mode.endswith(" w")
        if precise:
            triton_s4d.PRECISE = mode
        plan = plan_for(layer, x.device, T, GROUP_GPU)

        def run(u, st=None):
            return triton_s4d.s4d_conv(plan, u, st, tile_blocks=M, programs_per_row=P, num_warps=W, precise=precise)

        def run_copied(u, st=None):
            return run(triton_ops.to_channels_first(u.transpose(1, 2), L, torch.bfloat16).permute(1, 0, 2), st)
        print(f"| {i} | {T} | {M} | {P} | {W} | {S} | {mode} |", end="", flush=True)
        cells = []
        checks = [(lambda: run(x, state), ref32, rs32)]
        timings = [(lambda: run(x), floor32)]
        if not precise:
            checks += [(lambda: run(xb, state), ref16, rs16), (lambda: run_copied(xcl, state), ref16, rs16)]
            timings += [(lambda: run(xb), floor16), (lambda: run_copied(xcl), floor16)]
        for fn, ref, ref_state in checks:
            try:
                y, s = fn()
                torch.cuda.synchronize()
                cells.append(f"{max(rel(y.float(), ref), rel(s, ref_state)):.1e}")
            except Exception as error:                                   # noqa: BLE001
                cells.append(f"{type(error).__name__}: {str(error).splitlines()[0][:60]}")
        cells += ["-"] * (3 - len(checks))
        for fn, floor in timings:
            try:
                ms = cuda_time(fn, 10)
                cells += [f"{ms:.3f}", f"{ms / floor:.2f}"]
            except Exception as error:                                   # noqa: BLE001
                cells += [type(error).__name__, "-"]
        cells += ["-", "-"] * (3 - len(timings))
        print(f" {' | '.join(cells)} |", flush=True)
    triton_s4d.NUM_STAGES, triton_s4d.PRECISE, triton_s4d.OWN_BY_WEIGHTS = None, "tf32x3", False
    plan = plan_for(layer, x.device, triton_s4d.BLOCK, GROUP_GPU)
    from torch.profiler import ProfilerActivity, profile
    for u in (x, xb):
        triton_s4d.s4d_conv(plan, u)
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            for _ in range(5):
                triton_s4d.s4d_conv(plan, u)
            torch.cuda.synchronize()
        print(f"# profile of the default, 5 calls, {u.dtype}")
        for event in prof.key_averages():
            if event.device_time_total > 0:
                print(f"{event.key[:40]:40s} {event.device_time_total / event.count:9.1f} us per call", flush=True)


if __name__ == "__main__":
    main()
