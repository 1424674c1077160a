"""One residual block: RMSNorm -> S4D mixer, RMSNorm -> multi-resolution convs, RMSNorm -> gated MLP."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .bf16_weights import linear
from .config import NonAttnConfig
from .multires_conv import MultiResolutionConv
from .s4d import SSMMixer


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.is_cuda and not torch.is_grad_enabled():
            from . import triton_ops
            if triton_ops.available():                                 # GPU inference: one pass (triton_ops.py)
                return triton_ops.rms_norm(x, self.weight, self.eps)
        if x.device.type == "cpu" and not torch.is_grad_enabled():   # CPU inference: no (B, L, D) temporaries
            mean_square = torch.linalg.vector_norm(x, dim=-1, keepdim=True).square_().div_(x.shape[-1])
            return torch.mul(x, mean_square.add_(self.eps).rsqrt_()).mul_(self.weight)
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class GatedMLP(nn.Module):
    def __init__(self, d_model: int, hidden: int):
        super().__init__()
        self.up = nn.Linear(d_model, 2 * hidden, bias=False)
        self.down = nn.Linear(hidden, d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.is_cuda and not torch.is_grad_enabled():
            from . import triton_ops
            if triton_ops.available():                                 # GPU inference: one pass (triton_ops.py)
                return self.down(triton_ops.silu_mul(self.up(x)))
        value, gate = self.up(x).chunk(2, dim=-1)
        if not torch.is_grad_enabled():
            return self.down(F.silu(gate).mul_(value))                 # inference: the product in place
        return self.down(value * F.silu(gate))


# From this many tokens a piece on, the SSM mixer's gate is formed in its output projection's loads
# (triton_block.mixer_gate_residual): 1M tokens 52.1 / 52.4 -> 50.9 / 50.9 ms on an H100 (runs/gpu28/ab_run8.txt).
# Shorter pieces keep the gate pass: at 24K tokens the fused GEMM's 192 programs of 128 rows fill 1.45 waves of
# the H100's 132 SMs, 41 us against 35 for the two kernels, and the 32K forward did not gain (ab_run4.txt).
MIXER_GATE_MIN_TOKENS = 1 << 16

# Pieces of up to this many tokens run the gated MLP as triton_block.gated_mlp_residual: a Triton up projection
# writes value * silu(gate), 32 MB at 32K tokens, which the down projection reads back while it is still in the
# H100's 50 MB L2; no cuBLAS workspace memset and wait either. Alone at 32K 85.2 -> 80.8 us, whole forward -0.05 ms;
# at 1M (every block's MLP this way) +2.5 ms (runs/gpu29/ab_run2.txt): longer pieces keep cuBLAS's up projection
# (value and gate written) and the down projection forming the product as it loads them.
MLP_FUSED_MAX_TOKENS = 1 << 15


@dataclass
class BlockState:
    """What a block carries between pieces of a stream: SSM state and the convolutions' input tail."""
    ssm: torch.Tensor | None = None      # (B, D, N/2) complex
    conv_tail: torch.Tensor | None = None  # (B, D, tail)


class Block(nn.Module):
    def __init__(self, cfg: NonAttnConfig):
        super().__init__()
        d = cfg.d_model
        self.norm_ssm = RMSNorm(d, cfg.norm_eps)
        self.ssm = SSMMixer(d, cfg.d_state, cfg.dt_min, cfg.dt_max)
        self.norm_conv = RMSNorm(d, cfg.norm_eps)
        self.conv = MultiResolutionConv(d, cfg.conv_kernel, cfg.conv_dilations)
        self.norm_mlp = RMSNorm(d, cfg.norm_eps)
        self.mlp = GatedMLP(d, int(cfg.mlp_ratio * d))

    def forward(self, x: torch.Tensor, state: BlockState | None = None) -> tuple[torch.Tensor, BlockState]:
        """x (B, L, D) -> (B, L, D), the state after the last position."""
        state = state or BlockState()
        if x.is_cuda and not torch.is_grad_enabled() and _bf16_autocast_cuda():
            from . import triton_block
            if triton_block.available():
                return self._forward_fused_residual(x, state)
        mixed, ssm_state = self.ssm(self.norm_ssm(x), state.ssm)
        x = x + mixed
        conv_out, conv_tail = self.conv(self.norm_conv(x), state.conv_tail)
        x = x + conv_out
        x = x + self.mlp(self.norm_mlp(x))
        return x, BlockState(ssm_state, conv_tail)

    def _forward_fused_residual(self, x: torch.Tensor, state: BlockState) -> tuple[torch.Tensor, BlockState]:
        """GPU inference in bf16, the same maths: each branch's last projection adds the residual in its GEMM's
        epilogue, and the MLP's down projection forms value * silu(gate) as it reads them (triton_block.py). For a
        power-of-two width the SSM mixer takes its normed input channels-first, as its long convolution reads it
        (s4d.py), and for pieces of MIXER_GATE_MIN_TOKENS tokens on its output projection forms gelu(y) *
        silu(gate) as it loads them. Pieces of up to MLP_FUSED_MAX_TOKENS tokens run the MLP as two Triton GEMMs,
        value * silu(gate) written between them (triton_block.gated_mlp_residual)."""
        from .triton_block import gated_mlp_applies, gated_mlp_residual, linear_residual, mixer_gate_residual
        if x.shape[-1] & (x.shape[-1] - 1) == 0:
            from .triton_ops import gelu_gate, rms_norm_channels_first
            u = rms_norm_channels_first(x, self.norm_ssm.weight, self.norm_ssm.eps)          # (D, B, L)
            y, gate, ssm_state = self.ssm.conv_and_gate_channels_first(u, state.ssm)         # (B, D, L), (D, B, L)
            if x.shape[0] * x.shape[1] >= MIXER_GATE_MIN_TOKENS:
                x = mixer_gate_residual(y, gate, self.ssm.gate_proj.bias, self.ssm.out_proj, x)
            else:
                x = linear_residual(gelu_gate(y, gate.permute(1, 0, 2), self.ssm.gate_proj.bias,
                                              gate_channels_first=True), self.ssm.out_proj, x)
        else:
            gated, ssm_state = self.ssm.gated_conv(self.norm_ssm(x), state.ssm)
            x = linear_residual(gated, self.ssm.out_proj, x)
        activated, conv_tail = self.conv.activated_taps(self.norm_conv(x), state.conv_tail)
        x = linear_residual(activated, self.conv.out_proj, x)
        normed = self.norm_mlp(x)
        if x.shape[0] * x.shape[1] <= MLP_FUSED_MAX_TOKENS and gated_mlp_applies(normed, self.mlp):
            x = gated_mlp_residual(normed, self.mlp, x)
        else:
            x = linear_residual(linear(normed, self.mlp.up.weight), self.mlp.down, x, gated=True)
        return x, BlockState(ssm_state, conv_tail)


def _bf16_autocast_cuda() -> bool:
    return torch.is_autocast_enabled("cuda") and torch.get_autocast_dtype("cuda") == torch.bfloat16
