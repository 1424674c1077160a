"""Session 9, A/B in one process at 32K tokens (each variant twice): the chunk features summed in one kernel
(triton_ops.feature_sums), the supervisor rows added in one kernel (add_rows), the next RMSNorm in the residual
GEMM's epilogue (linear_residual(norm=)), the GRU's barrier on one counter (GRU_COUNTER). Checks first, kernels
alone, then whole-forward graph times, then a profile of the all-on variant."""
import collections
import json
import os
import sys

import torch

from torch.profiler import ProfilerActivity, profile  # noqa: F401 (the profile exec-ed at the end)

from nonattn_core import cuda_graphs, triton_block, triton_ops
from nonattn_core.bench import back_to_back_ms, cuda_time, graph_ms, load_model, ours_forward
from nonattn_core.block import Block
from nonattn_core.model import NonAttnLM, sum_runs

torch.backends.cuda.matmul.allow_tf32 = True
torch.manual_seed(0)
OUT = os.environ.get("OUT", "/tmp")


def rel(out, ref):
    return float((out.double() - ref.double()).norm() / ref.double().norm())


model = load_model("cuda")
D = model.config.d_model
print("## checks (relative errors)")
with torch.no_grad():
    table, weight = model.embedding.table.weight, model.lexical.token_weight
    for B, T, lead, run in [(2, 1000, 37, 256), (1, 32768, 0, 256), (1, 4096, 0, 8), (1, 300, 255, 256)]:
        x = torch.randn(B, T, D, device="cuda", dtype=torch.bfloat16)
        ids = torch.randint(0, table.shape[0], (B, T), device="cuda")
        fast = triton_ops.feature_sums(x, ids, run, lead, table, weight)
        ref = triton_ops.feature_sums_reference(x.double(), ids, run, lead, table.double(), weight.double())
        print(f"feature_sums B={B} T={T} lead={lead} run={run}: {rel(fast, ref):.2e}; no table: "
              f"{rel(triton_ops.feature_sums(x, ids, run, lead), sum_runs(x.double(), run, lead)):.2e}")
    x = torch.randn(2, 1000, D, device="cuda", dtype=torch.bfloat16)
    rows = torch.randn(2, 5, D, device="cuda", dtype=torch.bfloat16)
    index = torch.randint(0, 5, (1000,), device="cuda")
    print("add_rows exact:", torch.equal(triton_ops.add_rows(x, rows, index), x + rows[:, index]))
    block = model.lower[1]
    for L in (1, 300, 32768):
        a = torch.randn(1, L, D, device="cuda", dtype=torch.bfloat16)
        res = torch.randn(1, L, D, device="cuda", dtype=torch.bfloat16)
        plain = triton_block.linear_residual(a, block.ssm.out_proj, res)
        out, normed = triton_block.linear_residual(a, block.ssm.out_proj, res, norm=block.norm_conv)
        print(f"linear_residual + norm L={L}: out max diff {float((out.float() - plain.float()).abs().max()):.2e}, "
              f"normed vs rms_norm(out) fp32 {rel(normed, triton_ops.rms_norm_reference(out, block.norm_conv.weight, block.norm_conv.eps)):.2e}")
    gru = model.supervisor.gru
    xs = torch.randn(1, 128, gru.input_size, device="cuda")
    h0 = torch.randn(1, 1, gru.hidden_size, device="cuda")
    import copy
    ref = copy.deepcopy(gru).double().cpu()(xs.double().cpu(), h0.double().cpu())[0]
    for counter in (False, True):
        out = triton_ops.gru_persistent(gru, xs, h0, counter=counter)
        print(f"gru_persistent counter={counter} fp32 vs fp64: {rel(out.cpu(), ref):.2e}")

print("## kernels alone at 32K, us per call (20 back to back, median of 7)", flush=True)
with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
    L = 32768
    a = torch.randn(1, L, D, device="cuda", dtype=torch.bfloat16)
    res = torch.randn(1, L, D, device="cuda", dtype=torch.bfloat16)
    t = back_to_back_ms(lambda: triton_block.linear_residual(a, block.ssm.out_proj, res)) * 1e3
    n = back_to_back_ms(lambda: triton_ops.rms_norm(res, block.norm_conv.weight, 1e-5)) * 1e3
    print(f"out_proj GEMM {t:.1f} + rms_norm {n:.1f} = {t + n:.1f}")
    for shape in [(128, 256, 64, 8, 3), (128, 256, 64, 8, 4), (64, 256, 64, 4, 3), (64, 256, 64, 8, 3),
                  (64, 256, 64, 4, 4), (64, 256, 32, 4, 4), (128, 256, 32, 8, 4)]:
        try:
            ms = back_to_back_ms(lambda: triton_block.linear_residual(a, block.ssm.out_proj, res, norm=block.norm_conv,
                                                                      block_m=shape[0], block_n=shape[1], block_k=shape[2],
                                                                      num_warps=shape[3], num_stages=shape[4]))
            print(f"out_proj GEMM + norm epilogue {shape}: {ms * 1e3:.1f}")
        except Exception as error:
            print(f"out_proj GEMM + norm epilogue {shape}: failed {str(error)[:100]}")
    ids = torch.randint(0, table.shape[0], (1, L), device="cuda")
    print(f"feature sums: plain {back_to_back_ms(lambda: sum_runs(model._chunk_features(a, ids), 256)) * 1e3:.1f}, "
          f"fused {back_to_back_ms(lambda: triton_ops.feature_sums(a, ids, 256, 0, table, weight)) * 1e3:.1f}")
    for bt in (8, 16, 64):
        print(f"feature sums block_t {bt}: {back_to_back_ms(lambda: triton_ops.feature_sums(a, ids, 256, 0, table, weight, block_t=bt)) * 1e3:.1f}")
    rows = torch.randn(1, 129, D, device="cuda", dtype=torch.bfloat16)
    index = torch.arange(L, device="cuda") // 256
    print(f"add rows: plain {back_to_back_ms(lambda: a + rows[:, index]) * 1e3:.1f}, "
          f"fused {back_to_back_ms(lambda: triton_ops.add_rows(a, rows, index)) * 1e3:.1f}, "
          f"block_t 32 {back_to_back_ms(lambda: triton_ops.add_rows(a, rows, index, 32)) * 1e3:.1f}, "
          f"block_t 8 {back_to_back_ms(lambda: triton_ops.add_rows(a, rows, index, 8)) * 1e3:.1f}")
    conv = block.conv
    for bl, bd, w in [(8, 128, 4), (16, 128, 4), (32, 128, 4), (8, 64, 2), (16, 64, 4), (32, 64, 4), (64, 64, 4),
                      (64, 32, 4), (128, 32, 4), (16, 256, 4), (4, 256, 4), (4, 128, 2)]:
        ms = back_to_back_ms(lambda: triton_ops.dilated_taps_gelu(conv, a, None, a.dtype, bl, bd, w))
        print(f"taps {bl}x{bd} {w} warps: {ms * 1e3:.1f}")
    for counter in (False, True):
        fs = torch.randn(1, 128, gru.input_size, device="cuda", dtype=torch.bfloat16)
        hh = torch.zeros(1, 1, gru.hidden_size, device="cuda", dtype=torch.bfloat16)
        print(f"gru 128 steps counter={counter}: {cuda_time(lambda: triton_ops.gru_persistent(gru, fs, hh, counter=counter), 20) * 1e3:.1f}")
sys.stdout.flush()

# ---- variants: the old pieces, patched in
new_fused = Block._forward_fused_residual
new_sums, new_add = NonAttnLM._feature_sums, NonAttnLM._add_supervisor


def old_fused(self, x, state):
    from nonattn_core.bf16_weights import linear
    from nonattn_core.block import BlockState
    gated, ssm_state = self.ssm.gated_conv(self.norm_ssm(x), state.ssm)
    x = triton_block.linear_residual(gated, self.ssm.out_proj, x)
    activated, conv_tail = self.conv.activated_taps(self.norm_conv(x), state.conv_tail)
    x = triton_block.linear_residual(activated, self.conv.out_proj, x)
    x = triton_block.linear_residual(linear(self.norm_mlp(x), self.mlp.up.weight), self.mlp.down, x, gated=True)
    return x, BlockState(ssm_state, conv_tail)


def old_sums(self, lower_out, input_ids, run, lead=0):
    return sum_runs(self._chunk_features(lower_out, input_ids), run, lead)


def old_add(self, x, chunks):
    return x + self.supervisor.inject(chunks.state_before.to(x.dtype))[:, chunks.local_chunk]


def setup(sums, add, norm, counter):
    NonAttnLM._feature_sums = new_sums if sums else old_sums
    NonAttnLM._add_supervisor = new_add if add else old_add
    Block._forward_fused_residual = new_fused if norm else old_fused
    triton_ops.GRU_COUNTER = counter
    cuda_graphs._stack_graphs.clear()
    cuda_graphs._seen.clear()


variants = {"base": (0, 0, 0, 0), "+sums": (1, 0, 0, 0), "+add": (0, 1, 0, 0), "+norm": (0, 0, 1, 0),
            "+gru counter": (0, 0, 0, 1), "all": (1, 1, 1, 1)}
print("## whole forward at 32K: bench graph ms (and the model's own path, eager column)", flush=True)
outputs = {}
for round_ in (1, 2):
    for name, flags in variants.items():
        setup(*flags)
        run = ours_forward(model, 32768, 1 << 20)
        with torch.no_grad():
            g = graph_ms(run, 20)
        eager = cuda_time(run, 20, 3) if name in ("base", "all") else float("nan")
        print(f"round {round_} | {name:14s} | graph {g:.3f} | eager {eager:.3f}", flush=True)
        if round_ == 1 and name in ("base", "all"):
            ids = torch.randint(0, 100_000, (1, 32768), device="cuda", generator=torch.Generator("cuda").manual_seed(1))
            with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
                out, _ = model.forward_stream(ids, model.init_state(1), flush=True, return_hidden=True, return_logits=False)
            outputs[name] = (out.hidden.float(), out.chunk_embeddings.float())
print(f"all vs base: hidden {rel(outputs['all'][0], outputs['base'][0]):.2e}, "
      f"chunk embeddings {rel(outputs['all'][1], outputs['base'][1]):.2e}")

setup(1, 1, 1, 1)
sys.argv = ["profile", "32768"]
exec(open("runs/gpu25/profile.py").read().split("torch.backends.cuda.matmul.allow_tf32 = True", 1)[1])
