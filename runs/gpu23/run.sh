#!/bin/bash
# Session 7, first call: the persistent GRU kernel (correctness, alone, in the whole forward) and a 32K profile.
export PYTHONPATH=. TIKTOKEN_CACHE_DIR=$PWD/.carry/tiktoken
{ nvidia-smi -L; python -c "import torch, triton; print(torch.__version__, triton.__version__)"; date -u; } > $OUT/env.txt 2>&1
timeout 420 python runs/gpu23/gru_experiment.py > $OUT/gru.txt 2>&1
echo "exit $?" >> $OUT/gru.txt
cat $OUT/gru.txt | grep -v "^ *$" | head -150
