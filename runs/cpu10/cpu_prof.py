import sys, time, torch
from torch.profiler import profile, ProfilerActivity
from nonattn_core.model import NonAttnLM
model = NonAttnLM.from_pretrained(device="cpu")
n = int(sys.argv[1]) if len(sys.argv) > 1 else 65536
ids = torch.randint(0, 100_000, (n,), generator=torch.Generator().manual_seed(0))
model.encode_document(ids[:8192])
t = time.perf_counter(); model.encode_document(ids); print("plain s", time.perf_counter() - t)
with profile(activities=[ProfilerActivity.CPU], record_shapes=False) as prof:
    model.encode_document(ids)
print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=40))
