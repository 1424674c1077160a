"""Session 9, call 3: kernels timed inside CUDA graphs (20 calls a replay: the GPU never waits for the host), then
A/B of whole-forward graphs at 32K in one process, each variant twice: the block's RMSNorms in the residual GEMMs'
epilogues (NORM_SHAPE candidates), the SSM mixer channels-first (norm written transposed, gate applied in the S4D
output kernel, out projection reading it transposed), dilated-taps shapes (programs walking STEPS tiles)."""
import collections  # noqa: F401 (the profile exec-ed at the end)
import json  # noqa: F401
import os
import sys

import torch
from torch.profiler import ProfilerActivity, profile  # noqa: F401 (the profile exec-ed at the end)

from nonattn_core import block as block_module, cuda_graphs, triton_block, triton_ops
from nonattn_core.bench import cuda_time, graph_ms, load_model, ours_forward  # noqa: F401
from nonattn_core.block import Block

torch.backends.cuda.matmul.allow_tf32 = True
torch.manual_seed(0)
OUT = os.environ.get("OUT", "/tmp")


def rel(out, ref):
    return float((out.double() - ref.double()).norm() / ref.double().norm())


def graph_us(fn, calls=20, rounds=5):
    """us per call of fn() captured `calls` times in one CUDA graph, median of `rounds` replays."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        fn()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        for _ in range(calls):
            fn()
    graph.replay()
    times = []
    for _ in range(rounds):
        begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        begin.record()
        graph.replay()
        end.record()
        end.synchronize()
        times.append(begin.elapsed_time(end) * 1000 / calls)
    return sorted(times)[rounds // 2]


model = load_model("cuda")
D = model.config.d_model
blk = model.lower[1]
print("## checks (relative errors)", flush=True)
with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
    for B, L in [(1, 1), (2, 300), (1, 32768)]:
        x = torch.randn(B, L, D, device="cuda", dtype=torch.bfloat16)
        cf = triton_ops.rms_norm_channels_first(x, blk.norm_ssm.weight, blk.norm_ssm.eps)
        ref = triton_ops.rms_norm_reference(x, blk.norm_ssm.weight, blk.norm_ssm.eps).permute(2, 0, 1)
        print(f"rms_norm_channels_first B={B} L={L}: {rel(cf, ref):.2e}")
        old, old_state = blk.ssm.gated_conv(blk.norm_ssm(x))
        new, new_state = blk.ssm.gated_conv_channels_first(cf)
        print(f"gated_conv channels-first vs channels-last (bf16 both) B={B} L={L}: {rel(new.permute(1, 2, 0), old):.2e},"
              f" state {rel(new_state, old_state):.2e}")
        res = torch.randn(B, L, D, device="cuda", dtype=torch.bfloat16)
        out_cf, normed_cf = triton_block.linear_residual(new, blk.ssm.out_proj, res, norm=blk.norm_conv, channels_first=True)
        ref = triton_block.linear_residual_reference(new.permute(1, 2, 0), blk.ssm.out_proj, res)
        print(f"linear_residual channels-first + norm vs fp32 B={B} L={L}: {rel(out_cf, ref):.2e}, normed "
              f"{rel(normed_cf, triton_ops.rms_norm_reference(out_cf, blk.norm_conv.weight, blk.norm_conv.eps)):.2e}")
        if L > 1:
            first, carried = blk.ssm.gated_conv_channels_first(cf[:, :, :L // 2].contiguous())
            second, _ = blk.ssm.gated_conv_channels_first(cf[:, :, L // 2:].contiguous(), carried)
            streamed = torch.cat([first, second], -1)
            print(f"channels-first mixer streamed in two vs whole: {rel(streamed, new):.2e}")
    x = torch.randn(1, 2000, D, device="cuda")
with torch.no_grad():
    reference, _ = blk(x)
    for cf in (False, True):
        block_module.CHANNELS_FIRST_MIXER = cf
        with torch.autocast("cuda", dtype=torch.bfloat16):
            fused, _ = blk(x.bfloat16())
        print(f"block fused (channels-first mixer {cf}) vs float32 plain: {rel(fused, reference):.2e}")
    for L in (1, 300, 5000):
        x = torch.randn(1, L, D, device="cuda", dtype=torch.bfloat16)
        for steps in (1, 4):
            out, tail = triton_ops.dilated_taps_gelu(blk.conv, x, None, x.dtype, 16, 64, 4, steps)
            print(f"taps steps={steps} L={L} vs Conv1d fp32 reference: "
                  f"{rel(blk.conv.out_proj(out.float()), blk.conv.reference(x.float())):.2e}")
sys.stdout.flush()

print("## kernels alone at 32K, us per call inside a CUDA graph", flush=True)
L = 32768
with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
    a = torch.randn(1, L, D, device="cuda", dtype=torch.bfloat16)
    res = torch.randn(1, L, D, device="cuda", dtype=torch.bfloat16)
    a_cf = a.permute(2, 0, 1).contiguous()
    h = torch.randn(1, L, 4 * D, device="cuda", dtype=torch.bfloat16)
    print(f"rms_norm {graph_us(lambda: triton_ops.rms_norm(a, blk.norm_ssm.weight, 1e-5)):.1f}")
    print(f"to_channels_first {graph_us(lambda: triton_ops.to_channels_first(a, L, torch.bfloat16)):.1f}")
    for bl in (16, 32, 64):
        print(f"rms_norm_channels_first block_l {bl}: {graph_us(lambda: triton_ops.rms_norm_channels_first(a, blk.norm_ssm.weight, 1e-5, bl)):.1f}")
    print(f"gate proj channels-last (cuBLAS, bias) {graph_us(lambda: torch.nn.functional.linear(a, blk.ssm.gate_proj.weight.bfloat16(), blk.ssm.gate_proj.bias.bfloat16())):.1f}")
    wg = blk.ssm.gate_proj.weight.bfloat16()
    print(f"gate proj channels-first (cuBLAS mm) {graph_us(lambda: torch.mm(wg, a_cf.view(D, -1))):.1f}")
    y = torch.randn(1, D, L, device="cuda", dtype=torch.bfloat16)
    print(f"gelu_gate {graph_us(lambda: triton_ops.gelu_gate(y, a)):.1f}")
    print(f"S4D conv channels-first (3 kernels) {graph_us(lambda: blk.ssm.conv(a_cf.permute(1, 0, 2))):.1f}")
    print(f"S4D conv + gate channels-first {graph_us(lambda: blk.ssm.gated_conv_channels_first(a_cf)):.1f}")
    print(f"mixer channels-last (gated_conv, incl. norm) {graph_us(lambda: blk.ssm.gated_conv(blk.norm_ssm(a))):.1f}")
    print(f"mixer channels-first (incl. norm) {graph_us(lambda: blk.ssm.gated_conv_channels_first(triton_ops.rms_norm_channels_first(a, blk.norm_ssm.weight, 1e-5))):.1f}")
    print(f"out_proj GEMM (128,128,64,8,3) {graph_us(lambda: triton_block.linear_residual(a, blk.ssm.out_proj, res)):.1f}")
    print(f"out_proj GEMM channels-first A (128,128,64,8,3) {graph_us(lambda: triton_block.linear_residual(a_cf, blk.ssm.out_proj, res, channels_first=True)):.1f}")
    shapes = [(128, 256, 64, 8, 3), (128, 256, 64, 8, 4), (64, 256, 64, 4, 3), (64, 256, 64, 8, 3), (64, 256, 64, 8, 4),
              (64, 256, 32, 4, 4), (64, 256, 128, 8, 2), (32, 256, 64, 4, 3), (128, 256, 32, 8, 4), (64, 256, 64, 4, 2)]
    best = {}
    for cf in (False, True):
        for shape in shapes:
            try:
                us = graph_us(lambda: triton_block.linear_residual(a_cf if cf else a, blk.ssm.out_proj, res, norm=blk.norm_conv,
                                                                   channels_first=cf, block_m=shape[0], block_n=shape[1],
                                                                   block_k=shape[2], num_warps=shape[3], num_stages=shape[4]))
            except Exception as error:
                print(f"out_proj + norm epilogue channels_first={cf} {shape}: failed {str(error)[:80]}")
                continue
            print(f"out_proj + norm epilogue channels_first={cf} {shape}: {us:.1f}")
            if us < best.get(cf, (1e9,))[0]:
                best[cf] = (us, shape)
    print("best norm shapes:", best)
    print(f"gated down (128,256,64,8,4) {graph_us(lambda: triton_block.linear_residual(h, blk.mlp.down, res, gated=True)):.1f}")
    print(f"gated down + norm (128,256,64,8,4) {graph_us(lambda: triton_block.linear_residual(h, blk.mlp.down, res, gated=True, norm=blk.norm_ssm)):.1f}")
    print(f"up proj cuBLAS {graph_us(lambda: torch.nn.functional.linear(a, blk.mlp.up.weight.bfloat16())):.1f}")
    taps_best = (1e9, None)
    for bl, bd, w, steps in [(8, 128, 4, 1), (8, 128, 4, 4), (8, 128, 4, 8), (16, 128, 4, 4), (32, 128, 4, 2),
                             (16, 64, 4, 1), (16, 64, 4, 4), (16, 64, 4, 8), (32, 64, 4, 4), (8, 256, 4, 4),
                             (16, 256, 8, 4), (32, 128, 8, 4), (64, 64, 4, 2), (8, 64, 2, 8), (4, 256, 4, 8)]:
        us = graph_us(lambda: triton_ops.dilated_taps_gelu(blk.conv, a, None, a.dtype, bl, bd, w, steps))
        print(f"taps {bl}x{bd} {w} warps, {steps} steps: {us:.1f}")
        taps_best = min(taps_best, (us, (bl, bd, w, steps)))
    print("best taps:", taps_best)
sys.stdout.flush()

# ---- whole forward, A/B
plain_taps = triton_ops.dilated_taps_gelu


def setup(cf, norm_shape, taps):
    block_module.CHANNELS_FIRST_MIXER = cf
    triton_block.NORM_SHAPE = norm_shape
    if taps is None:
        triton_ops.dilated_taps_gelu = plain_taps
    else:
        triton_ops.dilated_taps_gelu = lambda conv, x, tail, dtype: plain_taps(conv, x, tail, dtype, *taps)
    cuda_graphs._stack_graphs.clear()
    cuda_graphs._seen.clear()


old_norm = (128, 256, 64, 8, 3)
variants = {"norm (128,256,64,8,3)": (False, old_norm, None),
            f"norm {best[False][1]}": (False, best[False][1], None),
            f"channels-first mixer, norm {best[True][1]}": (True, best[True][1], None),
            f"cf mixer + taps {taps_best[1]}": (True, best[True][1], taps_best[1])}
new_fused = Block._forward_fused_residual


def old_fused(self, x, state):
    from nonattn_core.bf16_weights import linear
    from nonattn_core.block import BlockState
    gated, ssm_state = self.ssm.gated_conv(self.norm_ssm(x), state.ssm)
    x = triton_block.linear_residual(gated, self.ssm.out_proj, x)
    activated, conv_tail = self.conv.activated_taps(self.norm_conv(x), state.conv_tail)
    x = triton_block.linear_residual(activated, self.conv.out_proj, x)
    x = triton_block.linear_residual(linear(self.norm_mlp(x), self.mlp.up.weight), self.mlp.down, x, gated=True)
    return x, BlockState(ssm_state, conv_tail)


print("## whole forward at 32K: bench graph ms", flush=True)
outputs = {}
ids = torch.randint(0, 100_000, (1, 32768), device="cuda", generator=torch.Generator("cuda").manual_seed(1))
for round_ in (1, 2):
    for name, flags in [("base (no norm epilogue)", None)] + list(variants.items()):
        Block._forward_fused_residual = old_fused if flags is None else new_fused
        setup(*(flags or (False, old_norm, None)))
        with torch.no_grad():
            g = graph_ms(ours_forward(model, 32768, 1 << 20), 20)
        print(f"round {round_} | {name:50s} | graph {g:.3f}", flush=True)
        if round_ == 1:
            with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
                out, _ = model.forward_stream(ids, model.init_state(1), flush=True, return_hidden=True, return_logits=False)
            outputs[name] = (out.hidden.float(), out.chunk_embeddings.float())
base = outputs["base (no norm epilogue)"]
for name, (hidden, emb) in outputs.items():
    print(f"{name} vs base: hidden {rel(hidden, base[0]):.2e}, chunk embeddings {rel(emb, base[1]):.2e}")

Block._forward_fused_residual = new_fused
setup(*variants[f"cf mixer + taps {taps_best[1]}"])
sys.argv = ["profile", "32768"]
exec(open("runs/gpu25/profile.py").read().split("torch.backends.cuda.matmul.allow_tf32 = True", 1)[1])
