"""S4D: a diagonal state-space layer applied as a causal long convolution (FFT with 2L padding).

Continuous system x' = A x + B u, y = C x + D u with diagonal complex A, discretised by zero-order hold with a
learned per-channel step dt (as in state-spaces/s4 `s4d.py`). The convolution kernel for any length L is
K_l = 2 Re(sum_n C_n Bbar_n Abar_n^l). The streaming path carries the complex state x between pieces, so that
feeding a sequence in pieces gives the same outputs as feeding it whole.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .bf16_weights import linear

# Positions per block when evaluating sums over Abar^l: bounds memory to (H, N/2, BLOCK) values. GPUs take
# larger blocks: fewer, fuller launches.
_VANDERMONDE_BLOCK = 8192
_VANDERMONDE_BLOCK_GPU = 1 << 16


def _block(device: torch.device) -> int:
    return _VANDERMONDE_BLOCK if device.type == "cpu" else _VANDERMONDE_BLOCK_GPU


def powers(dtA: torch.Tensor, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Real and imaginary parts of exp(dtA * l) for each position l: (H, n, len(positions)) each.

    Computed as exp(Re * l) * (cos, sin)(Im * l) in real arithmetic: complex exp is several times slower on CPUs.
    """
    magnitude = torch.exp(dtA.real.unsqueeze(-1) * positions)
    angle = dtA.imag.unsqueeze(-1) * positions
    return magnitude * torch.cos(angle), magnitude * torch.sin(angle)


def vandermonde(coef: torch.Tensor, dtA: torch.Tensor, length: int, offset: int = 0) -> torch.Tensor:
    """2 Re(sum_n coef_n exp(dtA_n * (offset + l))) for l in [0, length).  coef (..., H, n), dtA (H, n) -> (..., H, L)."""
    out = []
    block = _block(dtA.device)
    for start in range(0, length, block):
        stop = min(length, start + block)
        w_re, w_im = powers(dtA, torch.arange(offset + start, offset + stop, device=dtA.device, dtype=torch.float32))
        # contiguous real/imag parts: einsum over a strided view of a complex tensor copies per channel (250x slower)
        out.append(2 * (torch.einsum("...hn,hnl->...hl", coef.real.contiguous(), w_re)
                        - torch.einsum("...hn,hnl->...hl", coef.imag.contiguous(), w_im)))
    return torch.cat(out, dim=-1)


def state_after(u: torch.Tensor, dtA: torch.Tensor) -> torch.Tensor:
    """sum_s exp(dtA * (T-1-s)) u_s: the state contribution of a piece, without Bbar.  u (B, H, T) -> (B, H, n)."""
    length = u.shape[-1]
    acc_re = torch.zeros(u.shape[0], *dtA.shape, device=u.device)
    acc_im = torch.zeros_like(acc_re)
    block = _block(u.device)
    for start in range(0, length, block):
        stop = min(length, start + block)
        # lags T-1-s for s in [start, stop), taken in ascending order: flip the inputs, not the (H, n, l) table
        lags = torch.arange(length - stop, length - start, device=u.device, dtype=torch.float32)
        w_re, w_im = powers(dtA, lags)
        reversed_u = u[..., start:stop].flip(-1)
        acc_re = acc_re + torch.einsum("bhl,hnl->bhn", reversed_u, w_re)
        acc_im = acc_im + torch.einsum("bhl,hnl->bhn", reversed_u, w_im)
    return torch.complex(acc_re, acc_im)


def fft_causal_conv(u: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """y_t = sum_{s<=t} kernel_{t-s} u_s by FFT, zero-padded to 2L so nothing wraps around.  u (B, H, L), kernel (H, L)."""
    length = u.shape[-1]
    n = 2 * length
    y = torch.fft.irfft(torch.fft.rfft(u, n=n) * torch.fft.rfft(kernel, n=n), n=n)
    return y[..., :length]


class S4DKernel(nn.Module):
    """Diagonal state-space parameters (A, B=1, C, dt) and the kernel/state maths built from them."""

    def __init__(self, channels: int, d_state: int = 32, dt_min: float = 1e-4, dt_max: float = 1e-1):
        super().__init__()
        modes = d_state // 2
        # S4D-Lin initialisation: A = -1/2 + i*pi*n, dt log-uniform in [dt_min, dt_max].
        self.log_dt = nn.Parameter(torch.rand(channels) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min))
        self.log_A_real = nn.Parameter(torch.log(0.5 * torch.ones(channels, modes)))
        self.A_imag = nn.Parameter(math.pi * torch.arange(modes, dtype=torch.float32).repeat(channels, 1))
        self.C = nn.Parameter(torch.view_as_real(torch.randn(channels, modes, dtype=torch.cfloat) * 0.5 ** 0.5))

    def discretize(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns dtA (H, n), C (H, n), Bbar (H, n), all complex64."""
        dt = torch.exp(self.log_dt.float())
        A = torch.complex(-torch.exp(self.log_A_real.float()), self.A_imag.float())
        dtA = A * dt.unsqueeze(-1)
        Bbar = (torch.exp(dtA) - 1.0) / A                              # zero-order hold with B = 1
        return dtA, torch.view_as_complex(self.C.float()), Bbar

    def kernel(self, length: int) -> torch.Tensor:
        """K (H, L) for any length."""
        dtA, C, Bbar = self.discretize()
        return vandermonde(C * Bbar, dtA, length)


class S4DConv(nn.Module):
    """Per-channel S4D long convolution plus the D skip term; `state` is the complex SSM state (B, H, n) or None."""

    def __init__(self, channels: int, d_state: int, dt_min: float, dt_max: float):
        super().__init__()
        self.kernel = S4DKernel(channels, d_state, dt_min, dt_max)
        self.D = nn.Parameter(torch.randn(channels))

    def forward(self, u: torch.Tensor, state: torch.Tensor | None = None):
        """u (B, H, L) -> y (B, H, L), new state (B, H, n).  The FFT runs in float32 whatever the autocast dtype."""
        if not torch.is_grad_enabled():
            # Inference: the same convolution by blocks (cached matrices, matmuls; see s4d_chunked.py) in the
            # input's dtype when it is bf16 (GPUs; CPUs under bf16 autocast, whose normed activations are bf16
            # already), else in float32, with the blocks that suit the device. Training keeps the FFT below.
            from .s4d_chunked import chunked_s4d_conv
            with torch.autocast(device_type=u.device.type, enabled=False):
                return chunked_s4d_conv(self, u if u.is_cuda or u.dtype == torch.bfloat16 else u.float(), state)
        with torch.autocast(device_type=u.device.type, enabled=False):
            u = u.float()
            length = u.shape[-1]
            dtA, C, Bbar = self.kernel.discretize()
            y = fft_causal_conv(u, vandermonde(C * Bbar, dtA, length))
            if state is not None:
                # What the carried state contributes at local step t: 2 Re(C Abar^(t+1) x).
                y = y + vandermonde(C * state, dtA, length, offset=1)
            y = y + u * self.D.float().unsqueeze(-1)
            new_state = Bbar * state_after(u, dtA)
            if state is not None:
                new_state = new_state + state * torch.exp(dtA * length)
        return y, new_state

    def reference(self, u: torch.Tensor) -> torch.Tensor:
        """The plain recurrence x_k = Abar x_(k-1) + Bbar u_k, y_k = 2 Re(C x_k) + D u_k: the specification, O(L) steps."""
        dtA, C, Bbar = self.kernel.discretize()
        Abar = torch.exp(dtA)
        x = torch.zeros(u.shape[0], *dtA.shape, dtype=torch.complex64, device=u.device)
        ys = []
        for k in range(u.shape[-1]):
            x = Abar * x + Bbar * u[..., k].unsqueeze(-1)
            ys.append(2 * (C * x).sum(-1).real + self.D * u[..., k])
        return torch.stack(ys, dim=-1)


class SSMMixer(nn.Module):
    """The block's sequence mixer: S4D long convolution, GELU, multiplicative gate, output projection."""

    def __init__(self, d_model: int, d_state: int, dt_min: float, dt_max: float):
        super().__init__()
        self.conv = S4DConv(d_model, d_state, dt_min, dt_max)
        self.gate_proj = nn.Linear(d_model, d_model)
        self.out_proj = nn.Linear(d_model, d_model)

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None):
        """x (B, L, D) -> (B, L, D), new state."""
        if x.device.type == "cpu" and not torch.is_grad_enabled():
            return self._forward_cpu(x, state)
        gated, new_state = self.gated_conv(x, state)
        return self.out_proj(gated), new_state

    def gated_conv(self, x: torch.Tensor, state: torch.Tensor | None = None):
        """gelu(long conv(x)) * silu(gate_proj(x)), the mixer before its output projection: (B, L, D), new state."""
        y, new_state = self.conv(x.transpose(1, 2), state)            # (B, D, L)
        if y.is_cuda and not torch.is_grad_enabled() and y.stride(2) == 1:
            from . import triton_ops
            if triton_ops.available():                                 # the same, in one pass (triton_ops.py)
                return triton_ops.gelu_gate(y, linear(x, self.gate_proj.weight, self.gate_proj.bias)), new_state
        return F.gelu(y.transpose(1, 2)).to(x.dtype) * F.silu(self.gate_proj(x)), new_state

    def conv_and_gate_channels_first(self, u: torch.Tensor, state: torch.Tensor | None = None):
        """GPU inference in bf16 (block.py's fused path): the mixer's two branches before gelu(y) * silu(gate + bias),
        from its normed input u (D, B, L): y = long conv(u) (B, D, L), gate = gate_proj(u) less its bias (D, B, L)
        (the gate projection reads u as it lies), new state."""
        from .bf16_weights import bf16_weight
        gate = torch.mm(bf16_weight(self.gate_proj.weight), u.view(u.shape[0], -1)).view(u.shape)   # (D, B, L)
        y, new_state = self.conv(u.permute(1, 0, 2), state)                                      # (B, D, L)
        return y, gate, new_state

    def _forward_cpu(self, x: torch.Tensor, state: torch.Tensor | None):
        """CPU inference, the same maths channels-first (as the long convolution reads it): x is transposed once, by
        tiles, in its own dtype (bf16 under autocast; then the convolution's block products are bf16 too); the gate
        projection reads that copy, and the output projection reads the gated mixer transposed, as its GEMM can, so
        nothing is transposed back (stage timer, 4096 tokens, bf16: GELU + the transposing copy back 1.56 ms)."""
        channels, batch, length = x.shape[2], x.shape[0], x.shape[1]
        u = channels_first_tiled(x)                                    # (D, B, L)
        y, new_state = self.conv(u.permute(1, 0, 2), state)            # (B, D, L)
        gate = torch.addmm(self.gate_proj.bias.unsqueeze(-1), self.gate_proj.weight, u.view(channels, -1))
        gated = F.gelu(y.transpose(0, 1)).mul_(F.silu(gate.view(u.shape)))                       # (D, B, L)
        out = torch.addmm(self.out_proj.bias, gated.reshape(channels, -1).t(), self.out_proj.weight.t())
        return out.view(batch, length, channels), new_state


def channels_first_tiled(x: torch.Tensor, tile: int = 256) -> torch.Tensor:
    """x (B, L, D) -> contiguous (D, B, L), copied in (tile, tile) tiles: a plain transposing copy of a
    power-of-two L thrashes the cache."""
    out = x.new_empty(x.shape[2], x.shape[0], x.shape[1])
    for row in range(0, x.shape[1], tile):
        for col in range(0, x.shape[2], tile):
            out[col:col + tile, :, row:row + tile].copy_(x[:, row:row + tile, col:col + tile].permute(2, 0, 1))
    return out
