"""runs/gpu30, call 2: the GRU's barrier and program shape (gru_variants.py), alone and in the whole forward at
32K, with the upper blocks' first-span share; the lower split (call 1: slower at 32K, faster at 128K) profiled.
Variants of the whole forward: NAME[+sX][+lY] where NAME is base (committed GRU, units 8, 4 warps), ctr, vol, u16w8
(committed barrier, 16 units / 8 warps), u4w2, ctr16 (ctr with 16 units, 8 warps); sX: UPPER_FIRST_SPAN share X for
32K (0.25 committed); lY / LY: the lower split, LOWER_LAST_SPAN Y, upper "whole" / "spans" (0: off, the default
here)."""
import collections  # noqa: F401 (the profile exec-ed at the end)
import copy
import json  # noqa: F401
import os
import sys

import torch
from torch.profiler import ProfilerActivity, profile  # noqa: F401

sys.path.insert(0, "runs/gpu30")
from gru_variants import persistent_gru_class  # noqa: E402

from nonattn_core import cuda_graphs, model as model_module, triton_ops  # noqa: E402
from nonattn_core.bench import cuda_time, graph_ms, load_model, ours_forward  # noqa: E402

torch.backends.cuda.matmul.allow_tf32 = True
SHAPES = {"base": ("base", 8, 4), "ctr": ("ctr", 8, 4), "vol": ("vol", 8, 4), "u16w8": ("base", 16, 8),
          "u4w2": ("base", 4, 2), "ctr16": ("ctr", 16, 8), "vol16": ("vol", 16, 8), "u16w4": ("base", 16, 4)}
committed_gru = triton_ops.PersistentGRU
span = model_module.UPPER_FIRST_SPAN
variants = os.environ.get("AB_VARIANTS", "base,ctr,vol,u16w8,ctr16,ctr+s0.3,vol+s0.3,ctr+l0.125").split(",")


def setup(name):
    parts = name.split("+")
    mode, units, warps = SHAPES[parts[0]]
    triton_ops.PersistentGRU = committed_gru if parts[0] == "base" else persistent_gru_class(mode, units, warps)
    share = next((float(p[1:]) for p in parts if p.startswith("s")), span[0])
    model_module.UPPER_FIRST_SPAN = (share, span[1])
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
gru64 = copy.deepcopy(gru).double()
print("## 1. GRU variants: states against the committed kernel (bit for bit) and float64; 128 steps alone (us)",
      flush=True)
broken = set()
with torch.inference_mode():
    for steps, split in [(5, 2), (128, 31), (300, 100), (4096, 1000)]:
        for dtype in (torch.float32, torch.bfloat16):
            x = torch.randn(1, steps, gru.input_size, device="cuda", dtype=dtype)
            h0 = torch.randn(1, gru.hidden_size, device="cuda", dtype=dtype)
            ref = gru64(x.double(), h0.double()[None])[0][0]
            line = []
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=dtype == torch.bfloat16):
                base = None
                for name, (mode, units, warps) in SHAPES.items():
                    cls = committed_gru if name == "base" else persistent_gru_class(mode, units, warps)
                    outs = []
                    try:
                        for _ in range(3):
                            g = cls(gru, x, h0)
                            g.launch(0, split)
                            g.launch(split, g.n_steps)
                            outs.append(g.states.clone())
                    except Exception as error:
                        line.append(f"{name} failed: {type(error).__name__} {str(error)[:300]}")
                        broken.add(name)
                        continue
                    base = outs[0] if base is None else base
                    counter = f" ctr {int(g.done.sum())}/{g.programs * g.n_steps}" if mode == "ctr" else ""
                    line.append(f"{name} eq {sum(torch.equal(o, base) for o in outs)}/3 fp64 {rel(outs[-1][1:], ref):.1e}"
                                f"{counter}")
            print(f"{steps} steps {str(dtype)[6:]}: " + "; ".join(line), flush=True)
    x = torch.randn(1, 128, gru.input_size, device="cuda", dtype=torch.bfloat16)
    h0 = torch.randn(1, gru.hidden_size, device="cuda", dtype=torch.bfloat16)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        for round_ in (1, 2):
            for name, (mode, units, warps) in SHAPES.items():
                if name in broken:
                    continue
                cls = committed_gru if name == "base" else persistent_gru_class(mode, units, warps)
                g = cls(gru, x, h0)
                us = graphed_us(lambda: g.launch(0, 128))
                print(f"round {round_} | gru alone | {name:6s} | 128 steps {us:.1f} us, {us / 128:.2f} a step",
                      flush=True)

print("## 2. whole forward at 32K, graph ms", flush=True)
variants = [v for v in variants if v.split("+")[0] not in broken]
times = {}
for round_ in range(1, int(os.environ.get("AB_ROUNDS", "3")) + 1):
    for name in variants:
        setup(name)
        g = graph_ms(ours_forward(model, 32768, 1 << 20), 20)
        times.setdefault(name, []).append(g)
        print(f"round {round_} | 32768 | {name:10s} | graph {g:.3f}", flush=True)
ids = torch.randint(0, 100_000, (1, 32768), device="cuda", generator=torch.Generator("cuda").manual_seed(1))


def forward(autocast=True):
    with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
        out, state = model.forward_stream(ids, model.init_state(1), flush=True, return_hidden=True,
                                          return_logits=False)
    return out.hidden.float().clone(), out.chunk_embeddings.float().clone(), state.supervisor.float().clone()


setup("base")
ref = forward()
for name in variants:
    setup(name)
    out = forward()
    print(f"{name:10s} vs base: hidden {rel(out[0], ref[0]):.2e}, embeddings {rel(out[1], ref[1]):.2e}, supervisor "
          f"{rel(out[2], ref[2]):.2e}", flush=True)
print("## summary: median ms", flush=True)
for name, ts in times.items():
    ts = [t for t in ts if t is not None]
    print(f"| {name:14s} | {sorted(ts)[len(ts) // 2]:.3f} | {' / '.join(f'{t:.3f}' for t in ts)} |", flush=True)
for name in os.environ.get("AB_PROFILE", "base,ctr+l0.125").split(","):
    setup(name)
    print(f"## profile: {name}", flush=True)
    sys.argv = ["profile", "32768"]
    os.environ["TRACE_TAG"] = name.replace("+", "_")
    exec(open("runs/gpu30/profile.py").read().split("torch.backends.cuda.matmul.allow_tf32 = True", 1)[1])
