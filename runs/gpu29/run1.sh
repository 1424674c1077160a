#!/bin/bash
# runs/gpu29, call 1: sgate, norm, MLP row chunks (L2) alone and in the whole forward at 32K; 1M base vs sgate+norm.
export PYTHONPATH=. PYTHONUNBUFFERED=1
{ nvidia-smi -L; python -c "import torch, triton; print(torch.__version__, triton.__version__)"; date -u; } > $OUT/env_run1.txt 2>&1
AB_VARIANTS=base,sgate,sgate+norm,sgate+norm+c8192,sgate+norm+c8192s AB_1M_VARIANTS=base,sgate+norm \
AB_ROUNDS=3 AB_PROFILE=sgate+norm timeout -s INT 540 python -X faulthandler runs/gpu29/ab.py > $OUT/ab_run1.txt 2>&1; echo "exit $?" >> $OUT/ab_run1.txt
grep -v "^ *[0-9.]* *[0-9.]* *[0-9.-]* *[0-9]* \|^| *[0-9.]* |" $OUT/ab_run1.txt | head -150
echo "total ${SECONDS}s"
