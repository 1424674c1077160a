"""runs/gpu30, call 1: the lower blocks in two spans beside the GRU (model._lower_beside_gru) against the committed
order (model.LOWER_LAST_SPAN = 0), in one process. Variants:
  base    LOWER_LAST_SPAN 0: lower blocks over the piece, chunk step, GRU's first steps, upper first span beside the
          rest of the GRU, upper second span (the committed path);
  wX      LOWER_LAST_SPAN X, the upper blocks over the whole piece once the GRU is done (UPPER_AFTER_SPLIT "whole");
  sX      LOWER_LAST_SPAN X, the upper blocks over the two spans, each once its GRU states are written ("spans").
1. outputs at 32K against base and float32 (hidden, chunk embeddings, final supervisor state), and a second piece
   streamed after the first; 2. the bench's whole-forward graph at 32K, AB_ROUNDS rounds; 3. at 128K; 4. profile."""
import os
import sys

import torch

from nonattn_core import cuda_graphs, model as model_module
from nonattn_core.bench import cuda_time, graph_ms, load_model, ours_forward

torch.backends.cuda.matmul.allow_tf32 = True
variants = os.environ.get("AB_VARIANTS", "base,w0.0625,w0.125,w0.1875,w0.25,s0.125,s0.25").split(",")
long_variants = os.environ.get("AB_128K", "base,w0.125,w0.25,s0.25,s0.375").split(",")


def setup(name):
    share = 0.0 if name == "base" else float(name[1:])
    model_module.LOWER_LAST_SPAN = share
    model_module.UPPER_AFTER_SPLIT = {"w": "whole", "s": "spans"}.get(name[0], "whole")
    cuda_graphs._stack_graphs.clear()
    cuda_graphs._graphs.clear()
    cuda_graphs._seen.clear()


def rel(out, ref):
    return float((out.double() - ref.double()).norm() / ref.double().norm())


model = load_model("cuda")
ids = torch.randint(0, 100_000, (1, 40960), device="cuda", generator=torch.Generator("cuda").manual_seed(1))


def forward(autocast=True, cuts=(0, 32768)):
    with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
        state, hs, es = model.init_state(1), [], []
        for s, e in zip(cuts, cuts[1:]):
            out, state = model.forward_stream(ids[:, s:e], state, flush=e == cuts[-1], return_hidden=True,
                                              return_logits=False)
            hs.append(out.hidden.float().clone())
            es.append(out.chunk_embeddings.float().clone())
    return torch.cat(hs, 1), torch.cat(es, 1), state.supervisor.float().clone()


print("## 1. outputs at 32K (and 32K + 8K streamed): against base, against float32", flush=True)
outputs, fp32 = {}, {}
for name in ["base"] + [v for v in variants if v != "base"][:3] + ["s0.25"]:
    setup(name)
    outputs[name] = forward(), forward(cuts=(0, 32768, 40960))
    fp32[name] = forward(autocast=False)
    again = forward()
    print(f"{name:8s} vs base: hidden {rel(outputs[name][0][0], outputs['base'][0][0]):.2e}, embeddings "
          f"{rel(outputs[name][0][1], outputs['base'][0][1]):.2e}, supervisor "
          f"{rel(outputs[name][0][2], outputs['base'][0][2]):.2e}; streamed 32K+8K vs base's: hidden "
          f"{rel(outputs[name][1][0], outputs['base'][1][0]):.2e}, embeddings "
          f"{rel(outputs[name][1][1], outputs['base'][1][1]):.2e} | float32 vs base's float32: hidden "
          f"{rel(fp32[name][0], fp32['base'][0]):.2e} | bf16 vs its float32: hidden "
          f"{rel(outputs[name][0][0], fp32[name][0]):.2e}, embeddings {rel(outputs[name][0][1], fp32[name][1]):.2e}"
          f" | repeat equal {all(torch.equal(a, b) for a, b in zip(again, outputs[name][0]))}", flush=True)
print("## 2. whole forward at 32K, graph ms", flush=True)
times = {}
for round_ in range(1, int(os.environ.get("AB_ROUNDS", "3")) + 1):
    for name in variants:
        setup(name)
        g = graph_ms(ours_forward(model, 32768, 1 << 20), 20)
        times.setdefault(name, []).append(g)
        print(f"round {round_} | 32768 | {name:8s} | graph {g:.3f}", flush=True)
print("## 3. whole forward at 128K, graph ms", flush=True)
for round_ in (1, 2):
    for name in long_variants:
        setup(name)
        g = graph_ms(ours_forward(model, 131072, 1 << 20), 10)
        times.setdefault(f"128K {name}", []).append(g)
        print(f"round {round_} | 131072 | {name:8s} | graph {g:.3f}", flush=True)
print("## summary: median ms", flush=True)
for name, ts in times.items():
    ts = [t for t in ts if t is not None]
    print(f"| {name:14s} | {sorted(ts)[len(ts) // 2]:.3f} | {' / '.join(f'{t:.3f}' for t in ts)} |", flush=True)
best = min((n for n in times if not n.startswith("128K")), key=lambda n: sorted(times[n])[len(times[n]) // 2])
setup(os.environ.get("AB_PROFILE", best))
print(f"## profile: {os.environ.get('AB_PROFILE', best)}", flush=True)
sys.argv = ["profile", "32768"]
exec(open("runs/gpu30/profile.py").read().split("torch.backends.cuda.matmul.allow_tf32 = True", 1)[1])
