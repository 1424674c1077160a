"""Session 9, call 4: A/B at 32K (whole-forward graphs, each variant twice, one process) and 1M (eager) of the
SSM mixer channels-first (norm written transposed, gate projection channels-first, its bias in the gate pass),
dilated taps in 4 tiles a program, the GRU's next inputs loaded before its barrier. The old pieces come from
HEAD's triton_ops (old_triton_ops.py) and HEAD's block path, patched in."""
import collections  # noqa: F401 (the profile exec-ed at the end)
import json  # noqa: F401
import os
import sys

import torch
from torch.profiler import ProfilerActivity, profile  # noqa: F401

sys.path.insert(0, "runs/gpu25")
import old_triton_ops  # noqa: E402
from nonattn_core import cuda_graphs, triton_block, triton_ops  # noqa: E402
from nonattn_core.bench import cuda_time, graph_ms, load_model, ours_forward  # noqa: E402,F401
from nonattn_core.block import Block  # noqa: E402

torch.backends.cuda.matmul.allow_tf32 = True
torch.manual_seed(0)
OUT = os.environ.get("OUT", "/tmp")
exec(open("runs/gpu25/ab2.py").read().split("def graph_us", 1)[1].split("model = load_model", 1)[0].join(["def graph_us", ""]))


def rel(out, ref):
    return float((out.double() - ref.double()).norm() / ref.double().norm())


model = load_model("cuda")
D = model.config.d_model
blk = model.lower[1]
new_fused = Block._forward_fused_residual
new_taps, new_gru = triton_ops.dilated_taps_gelu, triton_ops.gru_persistent


def old_fused(self, x, state):
    from nonattn_core.bf16_weights import linear
    from nonattn_core.block import BlockState
    gated, ssm_state = self.ssm.gated_conv(self.norm_ssm(x), state.ssm)
    x = triton_block.linear_residual(gated, self.ssm.out_proj, x)
    activated, conv_tail = self.conv.activated_taps(self.norm_conv(x), state.conv_tail)
    x = triton_block.linear_residual(activated, self.conv.out_proj, x)
    x = triton_block.linear_residual(linear(self.norm_mlp(x), self.mlp.up.weight), self.mlp.down, x, gated=True)
    return x, BlockState(ssm_state, conv_tail)


def setup(cf, taps, gru):
    Block._forward_fused_residual = new_fused if cf else old_fused
    triton_ops.dilated_taps_gelu = new_taps if taps else old_triton_ops.dilated_taps_gelu
    triton_ops.gru_persistent = new_gru if gru else old_triton_ops.gru_persistent
    cuda_graphs._stack_graphs.clear()
    cuda_graphs._seen.clear()


print("## checks", flush=True)
with torch.no_grad():
    gru = model.supervisor.gru
    import copy
    xs, h0 = torch.randn(1, 300, gru.input_size, device="cuda"), torch.randn(1, 1, gru.hidden_size, device="cuda")
    ref = copy.deepcopy(gru).double().cpu()(xs.double().cpu(), h0.double().cpu())[0]
    print(f"gru prefetch fp32 vs fp64 {rel(new_gru(gru, xs, h0).cpu(), ref):.2e}, old {rel(old_triton_ops.gru_persistent(gru, xs, h0).cpu(), ref):.2e}")
    x = torch.randn(1, 2000, D, device="cuda")
    reference, _ = blk(x)
    for cf in (False, True):
        setup(cf, 1, 1)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            fused, _ = blk(x.bfloat16())
        print(f"block fused (channels-first mixer {cf}) vs float32 plain: {rel(fused, reference):.2e}")
print("## kernels alone at 32K, us per call inside a CUDA graph", flush=True)
with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
    L = 32768
    a = torch.randn(1, L, D, device="cuda", dtype=torch.bfloat16)
    a_cf = a.permute(2, 0, 1).contiguous()
    y = torch.randn(1, D, L, device="cuda", dtype=torch.bfloat16)
    print(f"gelu_gate channels-last gate {graph_us(lambda: triton_ops.gelu_gate(y, a)):.1f}, channels-first gate + bias "
          f"{graph_us(lambda: triton_ops.gelu_gate(y, a_cf.permute(1, 0, 2), blk.ssm.gate_proj.bias, gate_channels_first=True)):.1f}")
    print(f"mixer channels-last (incl. norm, copy) {graph_us(lambda: blk.ssm.gated_conv(blk.norm_ssm(a))):.1f}, channels-first "
          f"{graph_us(lambda: blk.ssm.gated_conv_channels_first(triton_ops.rms_norm_channels_first(a, blk.norm_ssm.weight, 1e-5))):.1f}")
    for steps in (128, 4096):
        fs = torch.randn(1, steps, gru.input_size, device="cuda", dtype=torch.bfloat16)
        hh = torch.zeros(1, 1, gru.hidden_size, device="cuda", dtype=torch.bfloat16)
        print(f"gru {steps} steps: old {graph_us(lambda: old_triton_ops.gru_persistent(gru, fs, hh), 5):.1f}, "
              f"prefetch {graph_us(lambda: new_gru(gru, fs, hh), 5):.1f}, old {graph_us(lambda: old_triton_ops.gru_persistent(gru, fs, hh), 5):.1f}, "
              f"prefetch {graph_us(lambda: new_gru(gru, fs, hh), 5):.1f}")
sys.stdout.flush()

variants = {"base": (0, 0, 0), "+cf mixer": (1, 0, 0), "+taps 4 steps": (0, 1, 0), "+gru prefetch": (0, 0, 1),
            "all": (1, 1, 1)}
print("## whole forward at 32K: bench graph ms; 'all' and 'base' also the model's own path (eager column)", flush=True)
outputs = {}
ids = torch.randint(0, 100_000, (1, 32768), device="cuda", generator=torch.Generator("cuda").manual_seed(1))
for round_ in (1, 2):
    for name, flags in variants.items():
        setup(*flags)
        with torch.no_grad():
            g = graph_ms(ours_forward(model, 32768, 1 << 20), 20)
        eager = cuda_time(ours_forward(model, 32768, 1 << 20), 20, 3) if name in ("base", "all") else float("nan")
        print(f"round {round_} | {name:16s} | graph {g:.3f} | eager {eager:.3f}", flush=True)
        if round_ == 1:
            with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
                out, _ = model.forward_stream(ids, model.init_state(1), flush=True, return_hidden=True, return_logits=False)
            outputs[name] = (out.hidden.float(), out.chunk_embeddings.float())
for name, (hidden, emb) in outputs.items():
    print(f"{name} vs base: hidden {rel(hidden, outputs['base'][0]):.2e}, chunk embeddings {rel(emb, outputs['base'][1]):.2e}")
print("## 1M tokens, the model's own path (ms, median of 3)", flush=True)
for round_ in (1, 2):
    for name in ("base", "+taps 4 steps", "all"):
        setup(*variants[name])
        print(f"round {round_} | 1M | {name:16s} | {cuda_time(ours_forward(model, 1 << 20, 1 << 20), 3, 1):.2f}", flush=True)

setup(1, 1, 1)
sys.argv = ["profile", "32768"]
exec(open("runs/gpu25/profile.py").read().split("torch.backends.cuda.matmul.allow_tf32 = True", 1)[1])
