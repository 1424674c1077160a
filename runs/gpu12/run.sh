#!/bin/bash
# Training on the lent H100 (one call of at most 10 minutes): LM + MiniLM distillation, lexical bag started from
# the teacher. RESUME=1 continues runs/main/checkpoint (a warm machine keeps the optimizer state there).
# Brings back logs.tar.gz and the weights split in 15 MB parts (the device returns files of at most 16 MiB).
set -u
export TIKTOKEN_CACHE_DIR=.carry/tiktoken HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
MINUTES=${MINUTES:-8.2}
EXTRA=""
[ -n "${RESUME:-}" ] && EXTRA="--resume runs/main/checkpoint"
{ nvidia-smi -L; python -c "import torch, triton; print(torch.__version__, triton.__version__)"; date -u; } > runs/env.txt 2>&1
python -m nonattn_core.train --out runs/main --max-minutes "$MINUTES" --batch-size 16 --pairs-per-step 128 \
    --embed-weight 2.5 --seed 3 --schedule-steps "${SCHEDULE:-1800}" $EXTRA > runs/train.log 2>&1
echo "train exit $?" >> runs/train.log
cp runs/main/checkpoint/config.json runs/main/checkpoint/progress.json runs/main/log.jsonl runs/main/summary.json runs/ 2>/dev/null
tar czf "$OUT/logs.tar.gz" -C runs env.txt train.log config.json progress.json log.jsonl summary.json
split -b 15M runs/main/checkpoint/model.safetensors "$OUT/model.safetensors.part-"
tail -5 runs/train.log
