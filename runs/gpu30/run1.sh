#!/bin/bash
# runs/gpu30, call 1: the lower blocks in two spans beside the GRU against the committed order; the GPU tests.
export PYTHONPATH=. PYTHONUNBUFFERED=1
timeout 120 python -m pytest -q -p no:cacheprovider tests/test_fast_paths.py -k "gpu" > $OUT/gpu_tests_run1.txt 2>&1; echo "exit $?" >> $OUT/gpu_tests_run1.txt
tail -15 $OUT/gpu_tests_run1.txt
AB_ROUNDS=3 timeout -s INT 380 python -X faulthandler runs/gpu30/ab1.py > $OUT/ab_run1.txt 2>&1; echo "exit $?" >> $OUT/ab_run1.txt
grep -v "^ *[0-9.]* *[0-9.]* *[0-9.-]* *[0-9]* \|^| *[0-9.]* |" $OUT/ab_run1.txt | head -70
echo "total ${SECONDS}s"
