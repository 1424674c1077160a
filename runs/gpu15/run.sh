#!/bin/bash
# Second training stage on the lent H100: continue the shipped checkpoint (weights staged in runs/stage by an
# earlier call on the same warm machine) with more weight on the embedding objectives. RESUME=1 continues
# runs/main2/checkpoint (optimizer state kept on the warm machine). Brings back logs and the weights in 15 MB parts.
set -u
export TIKTOKEN_CACHE_DIR=.carry/tiktoken HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
FROM=runs/stage
[ -n "${RESUME:-}" ] && FROM=runs/main2/checkpoint
{ nvidia-smi -L; python -c "import torch, triton; print(torch.__version__, triton.__version__)"; date -u; } > runs/env.txt 2>&1
python -m nonattn_core.train --out runs/main2 --resume "$FROM" --max-minutes "${MINUTES:-8.3}" --batch-size 16 \
    --pairs-per-step 256 --embed-weight 4.0 --lr 1e-3 --warmup-steps 50 --seed 4 \
    --schedule-steps "${SCHEDULE:-1200}" > runs/train.log 2>&1
echo "train exit $?" >> runs/train.log
cp runs/main2/checkpoint/config.json runs/main2/checkpoint/progress.json runs/main2/log.jsonl runs/main2/summary.json runs/ 2>/dev/null
tar czf "$OUT/logs.tar.gz" -C runs env.txt train.log config.json progress.json log.jsonl summary.json
split -b 15M runs/main2/checkpoint/model.safetensors "$OUT/model.safetensors.part-"
tail -4 runs/train.log
