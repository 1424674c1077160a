"""runs/gpu29, call 4 (from ab3.py): the working tree against the committed code, in one process. Variants:
  base    the committed code (old tile settings, plain embedding, cuBLAS MLP, the committed GRU kernel);
  nogru   the working tree with the committed GRU kernel (flags and a second read of h);
  new     the working tree: the GRU programs poll h_t itself, as 64-bit words tagged with their step;
  new+sX  the same with model.UPPER_FIRST_SPAN's share X for 32K pieces (0.25 committed).
(call 3's docstring follows)
  base   the committed settings: S4D tiles of 128 blocks, 2 programs per row; taps 8 x 128, 4 warps, 4 steps;
         gelu_gate 64 x 64; the MLP as cuBLAS up + gated down at every length;
  knobs  the new tile settings (triton_s4d.TILE_BLOCKS 64, PROGRAMS_PER_ROW 1; triton_ops.TAPS_SHAPE (64, 64, 4, 1);
         GELU_GATE_BLOCK (128, 32)), the MLP as committed;
  new    knobs + block.MLP_FUSED_MAX_TOKENS (32K): triton_block.gated_mlp_residual (the norm folded into a Triton up
         projection writing value * silu(gate), then the down projection) for pieces up to 32K tokens;
  newall the same at every length (1M: does the fused MLP pay there too?).
"knobs" and "new" also gather the token table's rows in bf16 in one pass (triton_ops.table_rows); base does not.
1. checks of gated_mlp_residual (a norm with random weights) against float32 and the committed MLP;
2. its tile shapes alone at 32K; 3. whole forward at 32K (and AB_SHORT), outputs; 4. 1M; 5. profile of "new"."""
import collections  # noqa: F401 (the profile exec-ed at the end)
import json  # noqa: F401
import os
import sys

import torch
from torch.profiler import ProfilerActivity, profile  # noqa: F401

import copy
import importlib.util

from nonattn_core import block as block_module, cuda_graphs, model as model_module, triton_block, triton_ops, triton_s4d
from nonattn_core.bench import cuda_time, graph_ms, load_model, ours_forward
from nonattn_core.bf16_weights import linear
from nonattn_core.block import RMSNorm

torch.backends.cuda.matmul.allow_tf32 = True
variants = os.environ.get("AB_VARIANTS", "base,nogru,new,new+s0.3,new+s0.2").split(",")
M1 = os.environ.get("AB_1M_VARIANTS", "base,new").split(",")
spec = importlib.util.spec_from_file_location("nonattn_core.base_triton_ops", "runs/gpu29/base_triton_ops.py")
base_ops = importlib.util.module_from_spec(spec)
spec.loader.exec_module(base_ops)
new_gru = triton_ops.PersistentGRU
span = model_module.UPPER_FIRST_SPAN
NEW = dict(tile=triton_s4d.TILE_BLOCKS, ppr=triton_s4d.PROGRAMS_PER_ROW, taps=triton_ops.TAPS_SHAPE,
           gelu=triton_ops.GELU_GATE_BLOCK, mlp=block_module.MLP_FUSED_MAX_TOKENS)
OLD = dict(tile=128, ppr=2, taps=(8, 128, 4, 4), gelu=(64, 64), mlp=0)
new_embedding = model_module.FactorizedEmbedding.forward


def plain_embedding(self, ids):
    return linear(self.table(ids), self.up.weight)


def rel(out, ref):
    return float((out.double() - ref.double()).norm() / ref.double().norm())


def setup(name):
    parts = name.split("+")
    triton_ops.PersistentGRU = new_gru if parts[0] == "new" else base_ops.PersistentGRU
    share = next((float(p[1:]) for p in parts if p.startswith("s")), span[0])
    model_module.UPPER_FIRST_SPAN = (share, span[1])
    name = {"nogru": "new"}.get(parts[0], parts[0])
    s = OLD if name == "base" else NEW
    triton_s4d.TILE_BLOCKS, triton_s4d.PROGRAMS_PER_ROW = s["tile"], s["ppr"]
    triton_ops.TAPS_SHAPE, triton_ops.GELU_GATE_BLOCK = s["taps"], s["gelu"]
    block_module.MLP_FUSED_MAX_TOKENS = {"base": 0, "knobs": 0, "new": NEW["mlp"], "newall": 1 << 40}[name]
    model_module.FactorizedEmbedding.forward = plain_embedding if name == "base" else new_embedding
    cuda_graphs._stack_graphs.clear()
    cuda_graphs._graphs.clear()
    cuda_graphs._seen.clear()


def graphed_us(fn, inputs, calls=20):
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for args in inputs:
            fn(*args)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        for i in range(calls):
            fn(*inputs[i % len(inputs)])
    ms = cuda_time(graph.replay, 10, 2)
    del graph
    return ms * 1e3 / calls


def timed(label, fn, inputs):
    try:
        us = graphed_us(fn, inputs)
    except Exception as error:
        print(f"{label} | failed: {type(error).__name__} {str(error).splitlines()[0][:150] if str(error) else ''}",
              flush=True)
        return None
    print(f"{label} | {us:.1f}", flush=True)
    return us


model = load_model("cuda")
blk = model.lower[0]
D = blk.mlp.down.out_features
norm = RMSNorm(D).cuda()
norm.weight.data.uniform_(0.5, 1.5)
print("## 1. checks: the GRU kernels, new against committed (bit for bit), and their time", flush=True)
gru = model.supervisor.gru
gru64 = copy.deepcopy(gru).double()
with torch.inference_mode():
    for steps, split in [(1, 0), (5, 2), (128, 31), (300, 100), (4096, 1000)]:
        for dtype in (torch.float32, torch.bfloat16):
            x = torch.randn(1, steps, gru.input_size, device="cuda", dtype=dtype)
            h0 = torch.randn(1, gru.hidden_size, device="cuda", dtype=dtype)
            outs = []
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=dtype == torch.bfloat16):
                for cls in (base_ops.PersistentGRU, new_gru):
                    for _ in range(3):                                 # repeated: a race would show
                        g = cls(gru, x, h0)
                        g.launch(0, split)
                        g.launch(split, g.n_steps)
                        outs.append(g.states.clone())
            ref = gru64(x.double(), h0.double()[None])[0][0]
            print(f"GRU {steps} steps split {split} {dtype}: new equal committed {[torch.equal(o, outs[0]) for o in outs]}"
                  f", new vs fp64 {rel(outs[-1][1:], ref):.2e}", flush=True)
    x = torch.randn(1, 128, gru.input_size, device="cuda", dtype=torch.bfloat16)
    h0 = torch.randn(1, gru.hidden_size, device="cuda", dtype=torch.bfloat16)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        for name, cls in (("committed", base_ops.PersistentGRU), ("new", new_gru)):
            timed(f"gru | {name}, 128 steps (with its setup)", lambda: cls(gru, x, h0).launch(0, 128), [()])

def forward(ids, autocast=True, pieces=None):
    with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
        state, hs, es = model.init_state(1), [], []
        step = pieces or ids.shape[1]
        for s in range(0, ids.shape[1], step):
            out, state = model.forward_stream(ids[:, s:s + step], state, flush=s + step >= ids.shape[1],
                                              return_hidden=True, return_logits=False)
            hs.append(out.hidden.float().clone())
            es.append(out.chunk_embeddings.float().clone())
    return torch.cat(hs, 1), torch.cat(es, 1)


for length in [int(n) for n in os.environ.get("AB_SHORT", "").split(",") if n]:
    print(f"## 3. whole forward at {length}", flush=True)
    for round_ in (1, 2):
        for name in variants:
            setup(name)
            print(f"round {round_} | {length} | {name:8s} | graph {graph_ms(ours_forward(model, length, 1 << 20), 20):.3f}",
                  flush=True)
print("## 3. whole forward at 32K", flush=True)
ids = torch.randint(0, 100_000, (1, 32768), device="cuda", generator=torch.Generator("cuda").manual_seed(1))
outputs = {}
for round_ in range(1, int(os.environ.get("AB_ROUNDS", "3")) + 1):
    for name in variants:
        setup(name)
        g = graph_ms(ours_forward(model, 32768, 1 << 20), 20)
        print(f"round {round_} | 32768 | {name:8s} | graph {g:.3f}", flush=True)
        if round_ == 1:
            outputs[name] = forward(ids)
setup("base")
fp32 = forward(ids, autocast=False)
for name, out in outputs.items():
    print(f"{name:8s} vs base: hidden {rel(out[0], outputs['base'][0]):.2e}, embeddings "
          f"{rel(out[1], outputs['base'][1]):.2e} | vs float32: hidden {rel(out[0], fp32[0]):.2e}, embeddings "
          f"{rel(out[1], fp32[1]):.2e}", flush=True)
for name in ("base", "new"):
    setup(name)
    streamed = forward(ids, pieces=5000)
    print(f"{name:8s}: streamed in pieces of 5000 vs its whole: hidden {rel(streamed[0], outputs[name][0]):.2e}, "
          f"embeddings {rel(streamed[1], outputs[name][1]):.2e}", flush=True)
print("## 4. 1M tokens, the model's own path (ms, median of 3)", flush=True)
for round_ in (1,):
    for name in M1:
        setup(name)
        print(f"round {round_} | 1M | {name:8s} | {cuda_time(ours_forward(model, 1 << 20, 1 << 20), 3, 1):.2f}",
              flush=True)
setup(os.environ.get("AB_PROFILE", "new"))
print(f"## profile: {os.environ.get('AB_PROFILE', 'new')}", flush=True)
sys.argv = ["profile", "32768"]
exec(open("runs/gpu29/profile.py").read().split("torch.backends.cuda.matmul.allow_tf32 = True", 1)[1])
