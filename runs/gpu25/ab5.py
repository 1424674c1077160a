"""Session 9, call 6: the persistent GRU reading each step's state with its step number in the same 64-bit words
(no flags, no fences) against the flag barrier of HEAD~1 (old_triton_ops.py): checks against float64, the kernel
alone inside CUDA graphs (128 and 4096 steps), A/B of whole-forward graphs at 32K (each twice) and of 1M."""
import copy
import sys

import torch

sys.path.insert(0, "runs/gpu25")
import old_triton_ops  # noqa: E402
from nonattn_core import cuda_graphs, triton_ops  # noqa: E402
from nonattn_core.bench import cuda_time, graph_ms, load_model, ours_forward  # noqa: E402

torch.backends.cuda.matmul.allow_tf32 = True
torch.manual_seed(0)
exec(open("runs/gpu25/ab2.py").read().split("def graph_us", 1)[1].split("model = load_model", 1)[0].join(["def graph_us", ""]))


def rel(out, ref):
    return float((out.double() - ref.double()).norm() / ref.double().norm())


model = load_model("cuda")
gru = model.supervisor.gru
new_gru = triton_ops.gru_persistent
print("## checks against float64 (fresh inputs each)", flush=True)
with torch.no_grad():
    for steps in (1, 2, 40, 128, 4096):
        for trial in range(2):
            xs = torch.randn(1, steps, gru.input_size, device="cuda")
            h0 = torch.randn(1, 1, gru.hidden_size, device="cuda")
            ref = copy.deepcopy(gru).double().cpu()(xs.double().cpu(), h0.double().cpu())[0]
            new = new_gru(gru, xs, h0)
            with torch.autocast("cuda", dtype=torch.bfloat16):
                new_bf16 = new_gru(gru, xs.bfloat16(), h0.bfloat16())
            old = old_triton_ops.gru_persistent(gru, xs, h0)
            print(f"{steps} steps, trial {trial}: tagged fp32 {rel(new.cpu(), ref):.2e}, bf16 {rel(new_bf16.float().cpu(), ref):.2e}; "
                  f"flags fp32 {rel(old.cpu(), ref):.2e}; tagged == flags: {torch.equal(new, old)}", flush=True)
    xs = torch.randn(1, 128, gru.input_size, device="cuda")
    h0 = torch.randn(1, 1, gru.hidden_size, device="cuda")
    first = new_gru(gru, xs, h0)
    same = sum(torch.equal(new_gru(gru, xs, h0), first) for _ in range(200))
    print(f"tagged, 200 runs on the same inputs: {same} equal to the first; flags: "
          f"{sum(torch.equal(old_triton_ops.gru_persistent(gru, xs, h0), first) for _ in range(50))} of 50 equal to it")
    for S in (16, 32, 64):
        small = torch.nn.GRU(S, S, batch_first=True).cuda()
        xs = torch.randn(1, 7, S, device="cuda")
        h0 = torch.randn(1, 1, S, device="cuda")
        first = new_gru(small, xs, h0)
        print(f"small GRU, S={S}: {sum(torch.equal(new_gru(small, xs, h0), first) for _ in range(200))} of 200 equal; "
              f"flags equal: {torch.equal(old_triton_ops.gru_persistent(small, xs, h0), first)}")
print("## alone, us per call inside a CUDA graph", flush=True)
with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
    for steps in (128, 4096):
        fs = torch.randn(1, steps, gru.input_size, device="cuda", dtype=torch.bfloat16)
        hh = torch.zeros(1, 1, gru.hidden_size, device="cuda", dtype=torch.bfloat16)
        for round_ in (1, 2):
            print(f"gru {steps} steps, round {round_}: flags {graph_us(lambda: old_triton_ops.gru_persistent(gru, fs, hh), 5):.1f}, "
                  f"tagged {graph_us(lambda: new_gru(gru, fs, hh), 5):.1f}", flush=True)


def setup(new):
    triton_ops.gru_persistent = new_gru if new else old_triton_ops.gru_persistent
    cuda_graphs._stack_graphs.clear()
    cuda_graphs._seen.clear()


print("## whole forward at 32K: bench graph ms, the model's own path (eager column)", flush=True)
for round_ in (1, 2):
    for name, new in (("flags", 0), ("tagged", 1)):
        setup(new)
        with torch.no_grad():
            g = graph_ms(ours_forward(model, 32768, 1 << 20), 20)
        eager = cuda_time(ours_forward(model, 32768, 1 << 20), 20, 3)
        print(f"round {round_} | 32K | {name:8s} | graph {g:.3f} | eager {eager:.3f}", flush=True)
for round_ in (1, 2):
    for name, new in (("flags", 0), ("tagged", 1)):
        setup(new)
        print(f"round {round_} | 1M | {name:8s} | {cuda_time(ours_forward(model, 1 << 20, 1 << 20), 3, 1):.2f}", flush=True)
setup(1)
