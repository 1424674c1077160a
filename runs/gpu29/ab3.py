"""runs/gpu29, call 3: the working tree's new defaults against the committed ones, in one process.
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

import triton

from nonattn_core import block as block_module, cuda_graphs, model as model_module, triton_block, triton_ops, triton_s4d
from nonattn_core.bench import cuda_time, graph_ms, load_model, ours_forward
from nonattn_core.bf16_weights import linear
from nonattn_core.block import RMSNorm

torch.backends.cuda.matmul.allow_tf32 = True
variants = os.environ.get("AB_VARIANTS", "base,knobs,new").split(",")
M1 = os.environ.get("AB_1M_VARIANTS", "base,new,newall").split(",")
NEW = dict(tile=triton_s4d.TILE_BLOCKS, ppr=triton_s4d.PROGRAMS_PER_ROW, taps=triton_ops.TAPS_SHAPE,
           gelu=triton_ops.GELU_GATE_BLOCK, mlp=block_module.MLP_FUSED_MAX_TOKENS)
OLD = dict(tile=128, ppr=2, taps=(8, 128, 4, 4), gelu=(64, 64), mlp=0)
new_embedding = model_module.FactorizedEmbedding.forward


def plain_embedding(self, ids):
    return linear(self.table(ids), self.up.weight)


def rel(out, ref):
    return float((out.double() - ref.double()).norm() / ref.double().norm())


def setup(name):
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
print("## 1. checks", flush=True)
with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
    for B, L in [(1, 1), (1, 5), (2, 300), (1, 4099), (2, 32768 + 5)]:
        x = torch.randn(B, L, D, device="cuda").bfloat16()
        for name, n in (("model norm", blk.norm_mlp), ("random norm", norm)):
            out = triton_block.gated_mlp_residual(x, n, blk.mlp)
            ref = triton_block.gated_mlp_residual_reference(x, n, blk.mlp)
            committed = triton_block.linear_residual(linear(n(x), blk.mlp.up.weight), blk.mlp.down, x, gated=True)
            print(f"gated_mlp_residual {name} B={B} L={L}: vs float32 {rel(out, ref):.2e}, committed vs float32 "
                  f"{rel(committed, ref):.2e}, vs committed {rel(out, committed):.2e}, finite "
                  f"{bool(torch.isfinite(out).all())}", flush=True)
        xf = torch.randn(B, L, D, device="cuda")
        out = triton_block.gated_mlp_residual(xf, norm, blk.mlp)
        print(f"float32 x B={B} L={L}: dtype {out.dtype}, vs float32 "
              f"{rel(out, triton_block.gated_mlp_residual_reference(xf, norm, blk.mlp)):.2e}", flush=True)

    for L in (1, 77, 32768):
        ids = torch.randint(0, 100_000, (1, L), device="cuda")
        table = model.embedding.table.weight
        print(f"table_rows L={L}: equal {torch.equal(triton_ops.table_rows(table, ids, torch.bfloat16), table[ids].bfloat16())}"
              f", embedding equal {torch.equal(new_embedding(model.embedding, ids), plain_embedding(model.embedding, ids))}",
              flush=True)

print("## 2. alone at 32K (20 calls in a graph, 4 rotating inputs)", flush=True)
L = 32768
with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
    xs = [(torch.randn(1, L, D, device="cuda").bfloat16(),) for _ in range(4)]
    timed("mlp | committed: norm + cuBLAS up + gated down",
          lambda x: triton_block.linear_residual(linear(blk.norm_mlp(x), blk.mlp.up.weight), blk.mlp.down, x,
                                                 gated=True), xs)
    default_up, default_down = triton_block.MLP_UP_SHAPE, triton_block.MLP_DOWN_SHAPE
    for up in [(128, 64, 64, 8, 3), (128, 64, 64, 8, 4), (128, 64, 64, 4, 3), (256, 64, 64, 8, 3),
               (128, 32, 64, 4, 3), (64, 64, 64, 4, 3), (128, 64, 128, 8, 2), (128, 128, 64, 8, 3),
               (128, 64, 32, 8, 4), (64, 128, 64, 4, 3)]:
        triton_block.MLP_UP_SHAPE = up
        timed(f"mlp | gated_mlp_residual up {up}", lambda x: triton_block.gated_mlp_residual(x, blk.norm_mlp, blk.mlp),
              xs)
    triton_block.MLP_UP_SHAPE = default_up
    for down in [(128, 256, 32, 8, 4), (64, 256, 64, 8, 3), (128, 256, 128, 8, 2), (64, 256, 64, 4, 4)]:
        triton_block.MLP_DOWN_SHAPE = down
        timed(f"mlp | gated_mlp_residual down {down}",
              lambda x: triton_block.gated_mlp_residual(x, blk.norm_mlp, blk.mlp), xs)
    triton_block.MLP_DOWN_SHAPE = default_down
    idss = [(torch.randint(0, 100_000, (1, L), device="cuda"),) for _ in range(4)]
    timed("embedding | plain", lambda ids: plain_embedding(model.embedding, ids), idss)
    timed("embedding | table_rows", lambda ids: new_embedding(model.embedding, ids), idss)
    for block_r, warps in [(16, 4), (8, 4), (32, 4), (32, 8), (64, 8), (8, 2), (4, 1), (16, 8)]:
        def norm_rows(x, block_r=block_r, warps=warps):
            out = torch.empty_like(x)
            triton_ops._rms_norm_kernel[(triton.cdiv(L, block_r),)](x, blk.norm_conv.weight, out, L, D, 1e-5,
                                                                    BLOCK_R=block_r, BLOCK_D=D, num_warps=warps)
            return out
        timed(f"rms_norm | {block_r} rows, {warps} warps", norm_rows, xs)
    for block_l in (16, 32, 64):
        timed(f"rms_norm_channels_first | {block_l} rows",
              lambda x: triton_ops.rms_norm_channels_first(x, blk.norm_ssm.weight, 1e-5, block_l), xs)
    for name in ("base", "knobs"):
        setup(name)
        timed(f"taps | {name} {triton_ops.TAPS_SHAPE}",
              lambda x: triton_ops.dilated_taps_gelu(blk.conv, x, None, x.dtype), xs)


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
for round_ in (1, 2):
    for name in M1:
        setup(name)
        print(f"round {round_} | 1M | {name:8s} | {cuda_time(ours_forward(model, 1 << 20, 1 << 20), 3, 1):.2f}",
              flush=True)
setup(os.environ.get("AB_PROFILE", "new"))
print(f"## profile: {os.environ.get('AB_PROFILE', 'new')}", flush=True)
sys.argv = ["profile", "32768"]
exec(open("runs/gpu29/profile.py").read().split("torch.backends.cuda.matmul.allow_tf32 = True", 1)[1])
