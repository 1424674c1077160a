#!/bin/bash
# runs/gpu28, call 3 (the MLP as two GEMMs, the norm in the up GEMM): ab.py
# (checks, kernel sweeps, whole-forward A/B), then the GPU tests.
export PYTHONPATH=. PYTHONUNBUFFERED=1
AB_ROUNDS=3 timeout -s INT 430 python -X faulthandler runs/gpu28/ab.py > $OUT/ab_run3.txt 2>&1; echo "exit $?" >> $OUT/ab_run3.txt
grep -v "^ *[0-9.]* *[0-9.]* *[0-9.-]* *[0-9]* \|^| *[0-9.]* |" $OUT/ab_run3.txt | head -120
left=$((585 - SECONDS)); echo "tests get ${left}s"
timeout $left python -m pytest -q -p no:cacheprovider tests/test_fast_paths.py tests/test_triton_block.py > $OUT/gpu_tests_run3.txt 2>&1; echo "exit $?" >> $OUT/gpu_tests_run3.txt
tail -8 $OUT/gpu_tests_run3.txt
echo "total ${SECONDS}s"
