#!/usr/bin/env bash
# GPU ingestion on a lent 2-GPU machine (device tool), carried: .carry/gpuingest (chromadb + pypdf wheels for the
# machine's Python 3.12, the tiktoken cache file, the documents). The checkpoint does not fit the 64 MiB carry
# next to chromadb, so the run uses a random-init model of the shipped shape: same arithmetic, same speed.
set -u
cd "$(dirname "$0")/../.."
C=.carry/gpuingest
export TIKTOKEN_CACHE_DIR=$PWD/$C/tiktoken NONATTN_QA_DATA=$PWD/$C/docs HF_HUB_OFFLINE=1
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
log() { echo "== $(date -u +%H:%M:%S) $*"; }
log setup
nvidia-smi -L; nproc
python3 - <<'PY' > /tmp/missing.txt
import glob, importlib.metadata as md, re
for wheel in glob.glob(".carry/gpuingest/wheels/*.whl"):
    name = re.sub(r"-\d.*", "", wheel.rsplit("/", 1)[1])
    try:
        md.version(name.replace("_", "-"))
    except md.PackageNotFoundError:
        print(wheel)
PY
python3 -m pip install -q --no-deps --no-index $(cat /tmp/missing.txt) 2>&1 | tail -3
python3 -c "import chromadb, pypdf, torch; print('chromadb', chromadb.__version__, 'torch', torch.__version__)"
python3 - <<'PY'
import json, torch
from nonattn_core.config import NonAttnConfig
from nonattn_core.model import DEFAULT_CHECKPOINT, NonAttnLM
config = NonAttnConfig.from_dict(json.loads((DEFAULT_CHECKPOINT / "config.json").read_text()))
torch.manual_seed(0)
(DEFAULT_CHECKPOINT / "model.safetensors").unlink(missing_ok=True)  # a link to nowhere here
NonAttnLM(config).save_pretrained(DEFAULT_CHECKPOINT)
print("random-init checkpoint of the shipped shape written")
PY
mkdir -p /tmp/many && python3 - <<'PY'
from pathlib import Path
n = 0
for play in sorted(Path(".carry/gpuingest/docs").glob("*.txt")):
    lines = play.read_text(encoding="utf-8", errors="replace").splitlines()
    step = max(1, len(lines) // 250)
    for start in range(0, len(lines), step):
        Path(f"/tmp/many/{play.stem}_{start:05d}.txt").write_text("\n".join(lines[start:start + step]) + "\n")
        n += 1
print(n, "small files")
PY

if [ "${SKIP_BENCH:-0}" != 1 ]; then   # SKIP_BENCH=1: only the torchrun comparison (steps 2-4)
  log "1. one GPU, embedded Chroma: python -m ingest.bench --device cuda"
  python3 -m ingest.bench --docs gnuplot.pdf fullrefman.pdf --device cuda 2>&1 | grep -v Warning | tail -8
fi

log "2. chroma run server on 127.0.0.1:8000"
chroma run --path /tmp/srv --host 127.0.0.1 --port 8000 > /tmp/srv.log 2>&1 &
python3 - <<'PY'
import time, urllib.request
for _ in range(120):
    try:
        urllib.request.urlopen("http://127.0.0.1:8000/api/v2/heartbeat")
        break
    except Exception:
        time.sleep(0.5)
PY

for docs in "$C/docs" /tmp/many; do
  name=$(basename $docs)
  log "3. torchrun 2 GPUs, $name"
  start=$SECONDS; torchrun --nproc_per_node 2 -m ingest --chroma-host 127.0.0.1 --chroma-port 8000 \
     --collection two-$name --device cuda --json -q $docs > $OUT/two-$name.json 2> /tmp/err2.log
  echo "rc=$? wall $((SECONDS - start)) s"; grep -v "^W\|^\*" /tmp/err2.log | tail -40; cp /tmp/err2.log $OUT/torchrun-$name.err
  log "4. one process, one GPU, $name"
  start=$SECONDS; python3 -m ingest --chroma-host 127.0.0.1 --chroma-port 8000 \
     --collection one-$name --device cuda --json -q $docs > $OUT/one-$name.json 2> /tmp/err1.log
  echo "rc=$? wall $((SECONDS - start)) s"; tail -3 /tmp/err1.log
  python3 - "$name" <<'PY'
import json, sys
from ingest.store import Store
name = sys.argv[1]
store = Store.open(host="127.0.0.1", port=8000)
ids = {k: sorted(c.id for c in store.iter_chunks(f"{k}-{name}")) for k in ("two", "one")}
for k in ("two", "one"):
    s = json.load(open(f"{__import__('os').environ['OUT']}/{k}-{name}.json"))
    print(k, "ingested", len(s["ingested"]), "failed", len(s["failed"]), "chunks", len(ids[k]),
          "tokens", sum(e["tokens"] for e in s["ingested"]), "pages", sum(e["pages"] for e in s["ingested"]))
print("same chunk ids:", ids["two"] == ids["one"])
PY
done
log done
