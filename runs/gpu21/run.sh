#!/bin/bash
# Third training stage on the lent H100: continue the shipped checkpoint (staged in runs/stage by an earlier call on
# the same warm machine: the tracked checkpoint and the teacher together exceed what one call carries) with the span
# memory's objectives added (64-token spans read in context, distilled to MiniLM and found by their own sentences).
# RESUME=1 continues runs/$RUN/checkpoint (RUN=main3, SEED=5 unless set: runs/gpu22 ran it again as main4, 6).
# Brings back logs and the weights in 15 MB parts.
set -u
RUN=${RUN:-main3} SEED=${SEED:-5}
export TIKTOKEN_CACHE_DIR=.carry/tiktoken HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
FROM=runs/stage
[ -n "${RESUME:-}" ] && FROM=runs/$RUN/checkpoint
{ nvidia-smi -L; python -c "import torch, triton; print(torch.__version__, triton.__version__)"; date -u; } > runs/env.txt 2>&1
ls $FROM .carry >> runs/env.txt 2>&1
python -m nonattn_core.train --out runs/$RUN --resume "$FROM" --max-minutes "${MINUTES:-8.3}" --batch-size 16 \
    --pairs-per-step 256 --embed-weight 4.0 --lr 5e-4 --warmup-steps 50 --seed $SEED --span-tokens 64 \
    --span-sequences 8 --schedule-steps "${SCHEDULE:-1000}" > runs/train.log 2>&1
echo "train exit $?" >> runs/train.log
cp runs/$RUN/checkpoint/config.json runs/$RUN/checkpoint/progress.json runs/$RUN/log.jsonl runs/$RUN/summary.json runs/ 2>/dev/null
tar czf "$OUT/logs.tar.gz" -C runs env.txt train.log config.json progress.json log.jsonl summary.json
split -b 15M runs/$RUN/checkpoint/model.safetensors "$OUT/model.safetensors.part-"
tail -4 runs/train.log
