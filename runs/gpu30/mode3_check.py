"""runs/gpu30, call 4: a first run of cuda_gru MODE 3 (st.async + mbarrier) in its own process, under a timeout: a
wrong phase would hang the kernel, and the A/B run must not wait on it."""
import torch

from nonattn_core import cuda_gru, triton_ops

cuda_gru.MODE = 3
gru = torch.nn.GRU(256, 256, batch_first=True).cuda()
print("applies", cuda_gru.applies(256, torch.device("cuda")), flush=True)
for steps, cut in ((1, 0), (5, 2), (4096, 1000)):
    x, h0 = torch.randn(1, steps, 256, device="cuda"), torch.randn(1, 256, device="cuda")
    g = triton_ops.PersistentGRU(gru, x, h0)
    g.launch(0, cut)
    g.launch(cut, steps)
    torch.cuda.synchronize()
    ref = gru(x, h0[None])[0][0]
    print(steps, "steps: in cluster", g.in_cluster, "rel", float((g.states[1:] - ref).norm() / ref.norm()), flush=True)
