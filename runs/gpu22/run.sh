#!/bin/bash
# Fourth training stage on the lent H100: the third stage's recipe (runs/gpu21) again, from its weights (the
# tracked checkpoint, staged in runs/stage by an earlier call on the same warm machine: the tracked checkpoint and
# the teacher together exceed what one call carries). RESUME=1 continues runs/main4/checkpoint. Brings back logs
# and the weights in 15 MB parts.
set -u
export TIKTOKEN_CACHE_DIR=.carry/tiktoken HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
FROM=runs/stage
[ -n "${RESUME:-}" ] && FROM=runs/main4/checkpoint
{ nvidia-smi -L; python -c "import torch, triton; print(torch.__version__, triton.__version__)"; date -u; } > runs/env.txt 2>&1
ls $FROM .carry >> runs/env.txt 2>&1
python -m nonattn_core.train --out runs/main4 --resume "$FROM" --max-minutes "${MINUTES:-8.3}" --batch-size 16 \
    --pairs-per-step 256 --embed-weight 4.0 --lr 5e-4 --warmup-steps 50 --seed 6 --span-tokens 64 \
    --span-sequences 8 --schedule-steps "${SCHEDULE:-1000}" > runs/train.log 2>&1
echo "train exit $?" >> runs/train.log
cp runs/main4/checkpoint/config.json runs/main4/checkpoint/progress.json runs/main4/log.jsonl runs/main4/summary.json runs/ 2>/dev/null
tar czf "$OUT/logs.tar.gz" -C runs env.txt train.log config.json progress.json log.jsonl summary.json
split -b 15M runs/main4/checkpoint/model.safetensors "$OUT/model.safetensors.part-"
tail -4 runs/train.log
