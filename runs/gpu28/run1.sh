#!/bin/bash
# runs/gpu28, call 1: GPU tests (with the new kernels' tests), then ab.py (checks, kernel sweeps, whole-forward A/B).
export PYTHONPATH=. PYTHONUNBUFFERED=1
{ nvidia-smi -L; python -c "import torch, triton; print(torch.__version__, triton.__version__)"; date -u; } > $OUT/env.txt 2>&1
timeout 150 python -m pytest -q -p no:cacheprovider tests/test_fast_paths.py tests/test_triton_block.py > $OUT/gpu_tests_run1.txt 2>&1; echo "exit $?" >> $OUT/gpu_tests_run1.txt
tail -15 $OUT/gpu_tests_run1.txt
left=$((585 - SECONDS)); echo "ab gets ${left}s"
AB_ROUNDS=3 timeout -s INT $left python -X faulthandler runs/gpu28/ab.py > $OUT/ab_run1.txt 2>&1; echo "exit $?" >> $OUT/ab_run1.txt
grep -v "^ *[0-9.]* *[0-9.]* *[0-9.-]* *[0-9]* \|^| *[0-9.]* |" $OUT/ab_run1.txt | head -120
echo "total ${SECONDS}s"
