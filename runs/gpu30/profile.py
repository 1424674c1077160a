"""runs/gpu30 (copied from runs/gpu29): profile of the bench's whole-forward CUDA graph at 32K tokens: kernels by total
time, count, and the timeline of one replay (two streams: busy time is their union). Writes the chrome trace to $OUT."""
import collections
import json
import os
import sys

import torch
from torch.profiler import ProfilerActivity, profile

from nonattn_core.bench import cuda_time, load_model, ours_forward

torch.backends.cuda.matmul.allow_tf32 = True
length = int(sys.argv[1]) if len(sys.argv) > 1 else 32768
model = globals().get("model") or load_model("cuda")

run = ours_forward(model, length, 1 << 20)
side = torch.cuda.Stream()
side.wait_stream(torch.cuda.current_stream())
with torch.cuda.stream(side):
    run(); run()
torch.cuda.current_stream().wait_stream(side)
graph = torch.cuda.CUDAGraph()
with torch.cuda.graph(graph):
    run()
print(f"graph replay {length}: {cuda_time(graph.replay, 20):.3f} ms", flush=True)
reps = 5
with profile(activities=[ProfilerActivity.CUDA]) as prof:
    for _ in range(reps):
        graph.replay()
    torch.cuda.synchronize()
out = os.environ.get("OUT", "/tmp")
path = f"{out}/trace_{length}_{os.environ.get('TRACE_TAG', '')}.json"
prof.export_chrome_trace(path)
events = [e for e in json.load(open(path))["traceEvents"] if e.get("cat") in ("kernel", "gpu_memcpy", "gpu_memset")]
events.sort(key=lambda e: e["ts"])
n = len(events) // reps
print(f"{len(events)} device events, {n} per replay")
one = events[-n:]                                                      # the last replay
span = max(e["ts"] + e["dur"] for e in one) - one[0]["ts"]
busy, reach = 0.0, one[0]["ts"]
for e in one:                                                          # union of the kernels' intervals
    busy += max(0.0, e["ts"] + e["dur"] - max(reach, e["ts"]))
    reach = max(reach, e["ts"] + e["dur"])
print(f"last replay: span {span:.1f} us, kernel time {sum(e['dur'] for e in one):.1f} us, busy {busy:.1f} us, "
      f"idle {span - busy:.1f} us")
total = collections.defaultdict(float)
count = collections.Counter()
for e in events:
    total[e["name"][:110]] += e["dur"] / reps
    count[e["name"][:110]] += 1
print("| us per forward | launches per forward | kernel |")
for name, us in sorted(total.items(), key=lambda kv: -kv[1]):
    print(f"| {us:8.1f} | {count[name] // reps:4d} | {name} |")
print("## timeline of the last replay: start us, duration us, gap before (same stream), stream, kernel")
prev_end = {}
for e in one:
    stream = e.get("args", {}).get("stream", e.get("tid"))
    print(f"{e['ts'] - one[0]['ts']:8.1f} {e['dur']:7.1f} {e['ts'] - prev_end.get(stream, e['ts']):6.1f} "
          f"{stream!s:>4} {e['name'][:90]}")
    prev_end[stream] = e["ts"] + e["dur"]
