"""Chunk embeddings of 65K real tokens: this tree's bf16 mode against float32 (NONATTN_CPU_BF16=0 maths)."""
import lzma, json, sys, time, os, torch
from nonattn_core.model import NonAttnLM
from nonattn_core.tokenizer import Tokenizer
text = ""
with lzma.open("/work/main/.carry/corpus/val.jsonl.xz", "rt") as f:
    for line in f:
        text += json.loads(line)["text"] + "\n"
        if len(text) > 400_000: break
tok = Tokenizer()
ids = torch.tensor(tok.encode(text)[:65536])
m = NonAttnLM.from_pretrained(device="cpu")
out = {}
for mode in ("bf16", "fp32"):
    os.environ["NONATTN_CPU_BF16"] = "1" if mode == "bf16" else "0"
    t = time.perf_counter(); r = m.encode_document(ids); out[mode] = r.embeddings; print(mode, f"{time.perf_counter()-t:.2f} s")
    # streamed in other pieces
    if mode == "bf16":
        r2 = m.encode_document(ids, piece_tokens=1000); out["bf16_pieces1000"] = r2.embeddings
a, b = out["bf16"], out["fp32"]
cos = torch.nn.functional.cosine_similarity(a, b)
print(f"{sys.argv[1]}: bf16 vs fp32: min cos {cos.min().item():.7f} mean cos {cos.mean().item():.7f} max|diff| {(a-b).abs().max().item():.2e}")
c = torch.nn.functional.cosine_similarity(out["bf16"], out["bf16_pieces1000"])
print(f"{sys.argv[1]}: bf16 pieces 4096 vs 1000: min cos {c.min().item():.7f} max|diff| {(out['bf16']-out['bf16_pieces1000']).abs().max().item():.2e}")
torch.save(out, f"/tmp/s10/acc_{sys.argv[1]}.pt")
