"""One process: the base tree's package (nonattn_core_base) and this tree's, encode_document alternating."""
import sys, time, torch
sys.path.insert(0, "/tmp/s10/basepkg")
import nonattn_core_base.model as base_model
import nonattn_core.model as new_model
n = int(sys.argv[1]) if len(sys.argv) > 1 else 131072
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
ids = torch.randint(0, 100_000, (n,), generator=torch.Generator().manual_seed(0))
models = {"base": base_model.NonAttnLM.from_pretrained(device="cpu"), "new": new_model.NonAttnLM.from_pretrained(device="cpu")}
for m in models.values():
    m.encode_document(ids[:8192])
times = {k: [] for k in models}
out = {}
for r in range(rounds):
    for name, m in models.items():
        t = time.perf_counter(); out[name] = m.encode_document(ids).embeddings; times[name].append(time.perf_counter() - t)
for name, ts in times.items():
    ts_sorted = sorted(ts)
    print(f"{name}: median {n / ts_sorted[len(ts) // 2]:,.0f} tok/s, best {n / ts_sorted[0]:,.0f}; seconds {' '.join(f'{t:.2f}' for t in ts)}")
ratios = [b / a for a, b in zip(times["new"], times["base"])]
print("per-round speed-up new/base:", " ".join(f"{r:.3f}" for r in ratios))
cos = torch.nn.functional.cosine_similarity(out["base"], out["new"])
print(f"embeddings: min cos {cos.min().item():.7f}, max |diff| {(out['base'] - out['new']).abs().max().item():.2e}")
