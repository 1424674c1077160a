"""runs/gpu30, call 4 (from ab3.py): the cluster GRU's three kernels (cuda_gru.MODE 1: call 3's; 2: groups of 8
lanes a unit, fast exp / division, the global store after the barrier's arrive; 3: the same with st.async into
each CTA and an mbarrier wait instead of the cluster barrier) against the committed Triton kernel, alone and in the
whole forward. Variant names: base (cuda_gru off, the committed settings: share 0.25 up to 128K, 0.5 above, no
lower split) or clM (cuda_gru on, MODE M), then +sX (UPPER_FIRST_SPAN share X up to 128K; 0: the GRU, then the upper blocks whole), +tX (the
same above 128K), +lY / +LY (LOWER_LAST_SPAN Y, the upper blocks after it "whole" / "spans")."""
import collections  # noqa: F401 (the profile exec-ed at the end)
import copy
import json  # noqa: F401
import os
import sys
import traceback

import torch
from torch.profiler import ProfilerActivity, profile  # noqa: F401

from nonattn_core import cuda_graphs, cuda_gru, model as model_module, triton_ops
from nonattn_core.bench import cuda_time, graph_ms, load_model, ours_forward

torch.backends.cuda.matmul.allow_tf32 = True
SPANS = model_module.UPPER_FIRST_SPAN
V32 = os.environ.get("AB_32K", "base,cl1,cl2,cl3,cl1+s0.0625,cl2+s0.0625,cl3+s0.0625,cl3+s0").split(",")
V8 = os.environ.get("AB_8K", "base,cl2,cl3").split(",")
V128 = os.environ.get("AB_128K", "base,cl2,cl3,cl3+s0.125").split(",")
V1M = os.environ.get("AB_1M", "base,cl2,cl3,cl2+t0.25,cl3+t0.25").split(",")


def setup(name):
    parts = name.split("+")
    cuda_gru.ENABLED = parts[0].startswith("cl")
    cuda_gru.MODE = int(parts[0][2:] or 1) if cuda_gru.ENABLED else cuda_gru.MODE
    short = next((float(p[1:]) for p in parts if p[0] == "s"), SPANS[0])
    long_ = next((float(p[1:]) for p in parts if p[0] == "t"), SPANS[1])
    model_module.UPPER_FIRST_SPAN = (short, long_)
    model_module.LOWER_LAST_SPAN = next((float(p[1:]) for p in parts if p[0] in "lL"), 0.0)
    model_module.UPPER_AFTER_SPLIT = "spans" if any(p[0] == "L" for p in parts) else "whole"
    cuda_graphs._stack_graphs.clear()
    cuda_graphs._graphs.clear()
    cuda_graphs._seen.clear()


def rel(out, ref):
    return float((out.double() - ref.double()).norm() / ref.double().norm())


def graphed_us(fn, calls=10):
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        fn()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        for _ in range(calls):
            fn()
    ms = cuda_time(graph.replay, 10, 2)
    del graph
    return ms * 1e3 / calls


model = load_model("cuda")
gru = model.supervisor.gru
print("## 0. NVRTC builds of the cluster kernels", flush=True)
for mode in (1, 2, 3):
    try:
        values = {"S": 256, "NC": cuda_gru.CLUSTER, "UPW": cuda_gru.UNITS_PER_WARP, "MODE": mode}
        torch.cuda._compile_kernel((cuda_gru._SOURCE if mode == 1 else cuda_gru._SOURCE_GROUPS) % values,
                                   "gru_cluster_steps")
        print(f"mode {mode} built", flush=True)
    except Exception:
        traceback.print_exc()
MODES = [name for name in ("cl1", "cl2", "cl3") if name not in os.environ.get("AB_SKIP", "").split(",") and (setup(name), cuda_gru.applies(256, torch.device("cuda")))[1]]
print(f"applies: {MODES}", flush=True)
V32, V8, V128, V1M = ([v for v in vs if v.split("+")[0] in ["base"] + MODES] for vs in (V32, V8, V128, V1M))
gru64 = copy.deepcopy(gru).double()
print("## 1. cluster GRU against the Triton kernel and float64; repeated runs equal", flush=True)
with torch.inference_mode():
    for steps, cut in [(1, 0), (5, 2), (128, 31), (300, 100), (4096, 1000)]:
        for dtype in (torch.float32, torch.bfloat16):
            x = torch.randn(1, steps, gru.input_size, device="cuda", dtype=dtype)
            h0 = torch.randn(1, gru.hidden_size, device="cuda", dtype=dtype)
            ref = gru64(x.double(), h0.double()[None])[0][0]
            out = {}
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=dtype == torch.bfloat16):
                for name in ["base"] + MODES:
                    setup(name)
                    runs = []
                    for _ in range(5 if steps == 4096 else 3):
                        g = triton_ops.PersistentGRU(gru, x, h0)
                        g.launch(0, cut)
                        g.launch(cut, g.n_steps)
                        runs.append(g.states[1:].clone())
                    out[name] = runs[0], all(torch.equal(r, runs[0]) for r in runs), g.in_cluster
            print(f"{steps} steps {str(dtype)[6:]}: " + "; ".join(
                f"{m} (cluster {out[m][2]}) vs triton {rel(out[m][0], out['base'][0]):.1e}, vs fp64 "
                f"{rel(out[m][0], ref):.1e}, repeats equal {out[m][1]}" for m in MODES)
                + f"; triton vs fp64 {rel(out['base'][0], ref):.1e}, repeats equal {out['base'][1]}", flush=True)
    for steps in (128, 4096):
        x = torch.randn(1, steps, gru.input_size, device="cuda", dtype=torch.bfloat16)
        h0 = torch.randn(1, gru.hidden_size, device="cuda", dtype=torch.bfloat16)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            for round_ in (1, 2):
                for name in ["base"] + MODES:
                    setup(name)
                    g = triton_ops.PersistentGRU(gru, x, h0)
                    us = graphed_us(lambda: g.launch(0, steps), 10 if steps == 128 else 2)
                    print(f"round {round_} | gru alone | {name:4s} | {steps} steps {us:.1f} us, {us / steps:.3f} a step",
                          flush=True)

ids = torch.randint(0, 100_000, (1, 32768), device="cuda", generator=torch.Generator("cuda").manual_seed(1))


def forward(autocast=True):
    with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
        out, state = model.forward_stream(ids, model.init_state(1), flush=True, return_hidden=True,
                                          return_logits=False)
    return out.hidden.float().clone(), out.chunk_embeddings.float().clone(), state.supervisor.float().clone()


print("## 2. outputs at 32K against base and float32", flush=True)
setup("base")
ref, ref32 = forward(), forward(autocast=False)
for name in [m + "+s0.0625" for m in MODES]:
    setup(name)
    out, out32 = forward(), forward(autocast=False)
    print(f"{name:10s} vs base: hidden {rel(out[0], ref[0]):.2e}, embeddings {rel(out[1], ref[1]):.2e}, supervisor "
          f"{rel(out[2], ref[2]):.2e} | float32 vs base float32: hidden {rel(out32[0], ref32[0]):.2e}, supervisor "
          f"{rel(out32[2], ref32[2]):.2e} | bf16 vs float32: hidden {rel(out[0], out32[0]):.2e} (base "
          f"{rel(ref[0], ref32[0]):.2e}), embeddings {rel(out[1], out32[1]):.2e}", flush=True)
times = {}


def sweep(length, names, rounds, repeats):
    for round_ in range(1, rounds + 1):
        for name in names:
            setup(name)
            g = graph_ms(ours_forward(model, length, 1 << 20), repeats)
            times.setdefault(f"{length} {name}", []).append(g)
            print(f"round {round_} | {length} | {name:12s} | graph {g:.3f}", flush=True)


print("## 3. whole forward, graph ms", flush=True)
sweep(32768, V32, int(os.environ.get("AB_ROUNDS", "3")), 20)
sweep(8192, V8, 2, 20)
sweep(131072, V128, 2, 10)
print("## 4. 1M tokens, the model's own path (ms, median of 3)", flush=True)
for name in V1M:
    setup(name)
    ms = cuda_time(ours_forward(model, 1 << 20, 1 << 20), 3, 1)
    times.setdefault(f"1M {name}", []).append(ms)
    print(f"round 1 | 1M | {name:12s} | {ms:.2f}", flush=True)
print("## summary: median ms", flush=True)
for name, ts in times.items():
    ts = [t for t in ts if t is not None]
    print(f"| {name:18s} | {sorted(ts)[len(ts) // 2]:.3f} | {' / '.join(f'{t:.3f}' for t in ts)} |", flush=True)
best = min((n for n in times if n.startswith("32768")), key=lambda n: sorted(times[n])[len(times[n]) // 2])
best = os.environ.get("AB_PROFILE", best.split()[1])
setup(best)
print(f"## profile: {best}", flush=True)
os.environ["TRACE_TAG"] = best.replace("+", "_")
sys.argv = ["profile", "32768"]
exec(open("runs/gpu30/profile.py").read().split("torch.backends.cuda.matmul.allow_tf32 = True", 1)[1])
