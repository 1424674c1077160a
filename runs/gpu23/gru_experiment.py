"""Device experiment (session 7): the supervisor's GRU with every step in one launch (triton_ops.gru_persistent)
against cuDNN and the one-kernel-per-step GRU, alone and inside the whole model's 32K / 1M forward."""
import copy
import sys

import torch

from nonattn_core import cuda_graphs, triton_ops
from nonattn_core.bench import cuda_time, graph_ms, load_model, ours_forward
from nonattn_core.cuda_graphs import _capture
from nonattn_core.gpu_check import relative_error

torch.backends.cuda.matmul.allow_tf32 = True
model = load_model("cuda")
gru = model.supervisor.gru
S = gru.hidden_size
gru64 = copy.deepcopy(gru).double().cpu()

print("## correctness (vs float64 on the CPU; output poisoned with NaN first by construction: torch.empty)")
configs = [(16, 4), (8, 4), (32, 8), (16, 8)]
for steps in (1, 37, 1024, 4096):
    x = torch.randn(1, steps, S, device="cuda")
    h0 = torch.randn(1, 1, S, device="cuda")
    ref = gru64(x.double().cpu(), h0.double().cpu())[0]
    for units, warps in configs:
        a = triton_ops.gru_persistent(gru, x, h0, units, warps)
        b = triton_ops.gru_persistent(gru, x, h0, units, warps)
        torch.cuda.synchronize()
        print(f"persistent fp32 units={units} warps={warps} steps={steps}: {relative_error(a.cpu(), ref):.2e} "
              f"(run-to-run {relative_error(a, b):.1e}, nan {bool(a.isnan().any())})", flush=True)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        a = triton_ops.gru_persistent(gru, x.bfloat16(), h0.bfloat16())
    print(f"persistent bf16 steps={steps}: {relative_error(a.float().cpu(), ref):.2e}", flush=True)

print("## GRU alone, ms (median of graph replays / eager calls)")
with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
    for steps in (128, 4096):
        xs = torch.randn(1, steps, S, device="cuda", dtype=torch.bfloat16)
        h0 = torch.randn(1, 1, S, device="cuda", dtype=torch.bfloat16)
        rows = {"cuDNN, graph": _capture(lambda a, b: gru(a, b)[0], xs, h0)[0].replay,
                "one kernel per step, graph": _capture(lambda a, b: triton_ops.gru_by_steps(gru, a, b), xs, h0)[0].replay}
        for units, warps in configs:
            rows[f"persistent u{units} w{warps}, eager"] = lambda u=units, w=warps: triton_ops.gru_persistent(gru, xs, h0, u, w)
            rows[f"persistent u{units} w{warps}, graph"] = _capture(
                lambda a, b, u=units, w=warps: triton_ops.gru_persistent(gru, a, b, u, w), xs, h0)[0].replay
        for name, fn in rows.items():
            t1, t2 = cuda_time(fn, 20, 3), cuda_time(fn, 20, 3)
            print(f"{steps} steps | {name} | {t1:.3f} | {t2:.3f} | {t1 / steps * 1000:.2f} us/step", flush=True)

print("## whole forward (encoder, bf16), ms: current GRU path vs persistent")
original = cuda_graphs.graphed_gru
persistent = lambda g, x, h0: triton_ops.gru_persistent(g, x, h0)
for length, piece in ((8192, 1 << 20), (32768, 1 << 20), (1 << 20, 1 << 20)):
    for name, fn in (("current", original), ("persistent", persistent), ("current", original), ("persistent", persistent)):
        cuda_graphs.graphed_gru = fn
        cuda_graphs._stack_graphs.clear(); cuda_graphs._seen.clear()
        run = ours_forward(model, length, piece)
        eager = cuda_time(run, 10 if length < 1 << 20 else 5, 3)
        graphed = graph_ms(run, 10) if length <= 1 << 17 else None
        print(f"{length:,} | {name} | eager {eager:.3f} | whole-forward graph {graphed if graphed is None else round(graphed, 3)}",
              flush=True)
cuda_graphs.graphed_gru = original

print("## profile: kernels of one 32K forward (the whole-piece graph replayed, current GRU path)")
from torch.profiler import ProfilerActivity, profile
cuda_graphs._stack_graphs.clear(); cuda_graphs._seen.clear()
run = ours_forward(model, 32768, 1 << 20)
for _ in range(3):
    run()
torch.cuda.synchronize()
with profile(activities=[ProfilerActivity.CUDA]) as prof:
    for _ in range(5):
        run()
    torch.cuda.synchronize()
print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=40, max_name_column_width=90))
