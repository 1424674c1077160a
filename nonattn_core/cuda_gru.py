"""The supervisor's GRU steps for batch 1 on Hopper GPUs, in one thread-block cluster (CUDA C++ compiled at first use
by NVRTC, which ships with PyTorch's CUDA builds: no nvcc needed).

Why: `triton_ops._gru_persistent_kernel` spreads the 256 hidden units over 32 programs that meet at a grid barrier
through L2 after every step (a flag store, a poll, a read of h: about three L2 round trips, ~2 us a step, ~2.6
beside other kernels); at 32K tokens its 128 steps sat on the forward's critical path. Here the 8 CTAs of one
cluster each keep the W_hh rows of 32 units in registers, and each step every CTA sends its 32 new values straight
into every CTA's shared memory (st.async, distributed shared memory), counting the bytes on the receiver's
mbarrier; a CTA waits for the 1,024 bytes of h_t+1 on its own mbarrier only: no global memory and no cluster-wide
barrier between steps. H100 (runs/gpu30/ab_run4.txt): 0.59 us a step against 2.0 (128 steps 76 us against 257);
call 3's version with the cluster barrier after each step ran 1.26 us, 1.08 with the shuffles below.

Plain version: `torch.nn.GRU` (`triton_ops.PersistentGRU` is the same step in Triton). The sums run in another
order and exp / division are the fast ones, so states agree with the Triton kernel's to ~1e-7 (float32).
"""
from __future__ import annotations

import torch

CLUSTER = 8            # CTAs in the cluster (8: the portable maximum)
UNITS_PER_WARP = 4
ENABLED = True
_kernels: dict = {}

_SOURCE = r"""
#define S %(S)d
#define NC %(NC)d
#define UPW %(UPW)d
#define UPC (S / NC)
#define NV (S / 32)

__device__ __forceinline__ float sigmoid_(float x) { return __fdividef(1.0f, 1.0f + __expf(-x)); }
__device__ __forceinline__ float dot4(float4 a, float4 b) { return a.x * b.x + a.y * b.y + a.z * b.z + a.w * b.w; }
__device__ __forceinline__ void cluster_sync_() {
    asm volatile("barrier.cluster.arrive.release.aligned;\n\tbarrier.cluster.wait.acquire.aligned;" ::: "memory");
}

// Layout: CTA `rank` owns units [rank * UPC, (rank + 1) * UPC), UPW a warp; the 8 lanes of a group hold the r, z, n
// rows of one unit, lane k the float4 columns k, k + 8, ... (3 shuffle levels sum a row); lane k then sends the
// unit's new value to CTA k. h_t is in hbuf[t & 1]; mbar[t & 1] counts its bytes (phases alternate per buffer).
extern "C" __global__ void __cluster_dims__(NC, 1, 1) __launch_bounds__(UPC / UPW * 32, 1)
gru_cluster_steps(const float* __restrict__ gi, const float* __restrict__ w, const float* __restrict__ bias,
                  float* states, int first, int last)
{
    __shared__ __align__(16) float hbuf[2][S];
    __shared__ __align__(8) unsigned long long mbar[2];
    unsigned rank;
    asm volatile("mov.u32 %%0, %%%%cluster_ctarank;" : "=r"(rank));
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int k = lane %% 8;                                         // column slice, and the CTA this lane feeds
    const int unit = rank * UPC + warp * UPW + lane / 8;
    float4 wr[3][NV];
    #pragma unroll
    for (int g = 0; g < 3; ++g)
        #pragma unroll
        for (int i = 0; i < NV; ++i)
            wr[g][i] = reinterpret_cast<const float4*>(w + (size_t)(g * S + unit) * S)[k + 8 * i];
    const float b_r = bias[unit], b_z = bias[S + unit], b_n = bias[2 * S + unit];
    for (int i = threadIdx.x; i < S; i += blockDim.x) hbuf[first & 1][i] = states[(size_t)first * S + i];
    unsigned local0 = (unsigned)__cvta_generic_to_shared(&hbuf[0][unit]), remote0;
    asm volatile("mapa.shared::cluster.u32 %%0, %%1, %%2;" : "=r"(remote0) : "r"(local0), "r"(k));
    const unsigned bar0 = (unsigned)__cvta_generic_to_shared(&mbar[0]);
    unsigned remote_bar0;
    asm volatile("mapa.shared::cluster.u32 %%0, %%1, %%2;" : "=r"(remote_bar0) : "r"(bar0), "r"(k));
    if (threadIdx.x == 0) {
        asm volatile("mbarrier.init.shared::cta.b64 [%%0], 1;" :: "r"(bar0) : "memory");
        asm volatile("mbarrier.init.shared::cta.b64 [%%0], 1;" :: "r"(bar0 + 8) : "memory");
        asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
    }
    cluster_sync_();
    float g_r = 0.f, g_z = 0.f, g_n = 0.f;
    if (first < last) {
        g_r = gi[(size_t)first * 3 * S + unit];
        g_z = gi[(size_t)first * 3 * S + S + unit];
        g_n = gi[(size_t)first * 3 * S + 2 * S + unit];
    }
    for (int t = first; t < last; ++t) {
        const int next = (t + 1) & 1;
        if (threadIdx.x == 0)                                       // this phase of mbar[next] waits for S * 4 bytes
            asm volatile("{\n\t.reg .b64 mbstate;\n\t"
                         "mbarrier.arrive.expect_tx.shared::cta.b64 mbstate, [%%0], %%1;\n\t}"
                         :: "r"(bar0 + 8 * next), "r"(S * 4) : "memory");
        float n_r = 0.f, n_z = 0.f, n_n = 0.f;                      // the next step's input projection, loaded early
        if (t + 1 < last) {
            n_r = gi[(size_t)(t + 1) * 3 * S + unit];
            n_z = gi[(size_t)(t + 1) * 3 * S + S + unit];
            n_n = gi[(size_t)(t + 1) * 3 * S + 2 * S + unit];
        }
        const float4* h4 = reinterpret_cast<const float4*>(hbuf[t & 1]);
        float d_r = 0.f, d_z = 0.f, d_n = 0.f;
        #pragma unroll
        for (int i = 0; i < NV; ++i) {
            const float4 hv = h4[k + 8 * i];
            d_r += dot4(wr[0][i], hv);
            d_z += dot4(wr[1][i], hv);
            d_n += dot4(wr[2][i], hv);
        }
        #pragma unroll
        for (int offset = 4; offset > 0; offset >>= 1) {
            d_r += __shfl_xor_sync(0xffffffffu, d_r, offset);
            d_z += __shfl_xor_sync(0xffffffffu, d_z, offset);
            d_n += __shfl_xor_sync(0xffffffffu, d_n, offset);
        }
        const float r = sigmoid_(g_r + d_r + b_r);
        const float z = sigmoid_(g_z + d_z + b_z);
        const float n = 2.0f * sigmoid_(2.0f * (g_n + r * (d_n + b_n))) - 1.0f;
        const float h_new = (1.0f - z) * n + z * hbuf[t & 1][unit];
        const unsigned remote = remote0 + (next ? S * 4u : 0u);
        asm volatile("st.async.shared::cluster.mbarrier::complete_tx::bytes.f32 [%%0], %%1, [%%2];"
                     :: "r"(remote), "f"(h_new), "r"(remote_bar0 + 8 * next) : "memory");
        if (k == rank) states[(size_t)(t + 1) * S + unit] = h_new;
        const unsigned parity = ((t - first) >> 1) & 1;
        unsigned done = 0;
        do {
            asm volatile("{\n\t.reg .pred p;\n\tmbarrier.try_wait.parity.acquire.cluster.shared::cta.b64 p, [%%1], %%2;"
                         "\n\tselp.u32 %%0, 1, 0, p;\n\t}" : "=r"(done) : "r"(bar0 + 8 * next), "r"(parity) : "memory");
        } while (!done);
        g_r = n_r; g_z = n_z; g_n = n_n;
    }
    cluster_sync_();                                                // no CTA leaves while others may still write
}
"""


def applies(hidden_size: int, device: torch.device) -> bool:
    """Whether the cluster kernel can run this GRU: a Hopper (or later) GPU, a hidden size that is a multiple of
    128 (UNITS_PER_WARP units a warp, one lane for each unit and CTA: CLUSTER * UNITS_PER_WARP = 32; at most 32
    warps a CTA), and a kernel NVRTC built."""
    if not (ENABLED and torch.cuda.is_available() and device.type == "cuda"
            and hasattr(torch.cuda, "_compile_kernel")):
        return False
    if CLUSTER * UNITS_PER_WARP != 32 or hidden_size % 128 or hidden_size // (CLUSTER * UNITS_PER_WARP) > 32:
        return False
    return torch.cuda.get_device_capability(device)[0] >= 9 and _kernel(hidden_size, device) is not None


def _kernel(hidden_size: int, device: torch.device):
    """The compiled kernel for this hidden size (None if NVRTC could not build or load it: the Triton GRU runs)."""
    key = (hidden_size, str(device))
    if key not in _kernels:
        try:
            with torch.cuda.device(device):
                source = _SOURCE % {"S": hidden_size, "NC": CLUSTER, "UPW": UNITS_PER_WARP}
                _kernels[key] = torch.cuda._compile_kernel(source, "gru_cluster_steps")
        except Exception:                                              # no NVRTC, an old driver: the Triton kernel
            _kernels[key] = None
    return _kernels[key]


def launch_steps(gi: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, states: torch.Tensor,
                 first: int, last: int) -> None:
    """GRU steps [first, last) for batch 1: gi (n, 3S) float32, the input projection with its bias; weight (3S, S)
    and bias (3S,) float32, W_hh and b_hh; states (n + 1, S) float32, h0 then h after each step: reads
    states[first], writes states[first + 1 .. last]. All contiguous, on one CUDA device."""
    S = states.shape[1]
    kernel = _kernel(S, states.device)
    threads = S // CLUSTER // UNITS_PER_WARP * 32
    kernel(grid=(CLUSTER, 1, 1), block=(threads, 1, 1), args=[gi, weight, bias, states, int(first), int(last)])
