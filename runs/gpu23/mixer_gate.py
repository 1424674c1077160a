"""Device experiment (session 7, call 6): the SSM mixer's gelu(y) * silu(gate) formed inside the out projection's
GEMM (triton_block.linear_residual(conv_out=...)) instead of a separate gelu_gate pass: correctness, the kernel alone
(two block shapes), and the whole forward A/B in one process."""
import torch

from nonattn_core import cuda_graphs, triton_block, triton_ops
from nonattn_core.bench import back_to_back_ms, graph_ms, load_model, ours_forward, cuda_time
from nonattn_core.block import Block
from nonattn_core.gpu_check import relative_error


per_call_ms = back_to_back_ms  # (a copy of it here when these ran on the device)



model = load_model("cuda")
block = model.lower[0]
fused_forward = Block._forward_fused_residual


def separate_gate_forward(self, x, state):                            # the code before this change
    from nonattn_core.block import BlockState
    gated, ssm_state = self.ssm.gated_conv(self.norm_ssm(x), state.ssm)
    x = triton_block.linear_residual(gated, self.ssm.out_proj, x)
    activated, conv_tail = self.conv.activated_taps(self.norm_conv(x), state.conv_tail)
    x = triton_block.linear_residual(activated, self.conv.out_proj, x)
    x = triton_block.linear_residual(self.mlp.up(self.norm_mlp(x)), self.mlp.down, x, gated=True)
    return x, BlockState(ssm_state, conv_tail)


with torch.inference_mode():
    for M in (32768, 1 << 20):
        gate = torch.randn(1, M, 256, device="cuda", dtype=torch.bfloat16)
        y = torch.randn(1, 256, M, device="cuda")
        res = torch.randn(1, M, 256, device="cuda", dtype=torch.bfloat16)
        ref = triton_block.linear_residual_reference(gate, block.ssm.out_proj, res, conv_out=y)
        print(f"M={M:,} separate: gelu_gate + GEMM {per_call_ms(lambda: triton_block.linear_residual(triton_ops.gelu_gate(y, gate), block.ssm.out_proj, res)):.4f} ms")
        for shape in ((128, 128, 64, 8, 3), (128, 256, 64, 8, 2), (64, 256, 64, 4, 3), (128, 256, 32, 8, 3), (64, 128, 64, 4, 3), (128, 128, 64, 4, 3)):
            fn = lambda: triton_block.linear_residual(gate, block.ssm.out_proj, res, conv_out=y, shape=shape)
            try:
                print(f"M={M:,} fused {shape}: {per_call_ms(fn):.4f} ms, err {relative_error(fn().float(), ref):.2e}", flush=True)
            except Exception as error:
                print(f"M={M:,} fused {shape}: {str(error)[:80]}")

for length in (32768, 1 << 20, 32768, 1 << 20):
    for name, fn in (("separate gate", separate_gate_forward), ("gate in GEMM", fused_forward)):
        Block._forward_fused_residual = fn
        cuda_graphs._stack_graphs.clear(); cuda_graphs._seen.clear()
        run = ours_forward(model, length, 1 << 20)
        eager = cuda_time(run, 10 if length < 1 << 20 else 5, 3)
        graphed = graph_ms(run, 10) if length <= 1 << 17 else None
        print(f"{length:,} | {name} | eager {eager:.3f} | graph {graphed if graphed is None else round(graphed, 3)}", flush=True)
Block._forward_fused_residual = fused_forward
