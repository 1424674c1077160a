#!/bin/bash
# runs/gpu30, call 3: the cluster GRU (cuda_gru.py) alone and in the forward at 8K-1M; the fast-path GPU tests.
export PYTHONPATH=. PYTHONUNBUFFERED=1
AB_ROUNDS=3 timeout -s INT 420 python -X faulthandler runs/gpu30/ab3.py > $OUT/ab_run3.txt 2>&1; echo "exit $?" >> $OUT/ab_run3.txt
grep -v "^ *[0-9.]* *[0-9.]* *[0-9.-]* *[0-9]* [0-9]\|^| *[0-9.]* |" $OUT/ab_run3.txt | head -120
timeout 120 python -m pytest -q -p no:cacheprovider tests/test_fast_paths.py -k "gpu" > $OUT/gpu_tests_run3.txt 2>&1; echo "exit $?" >> $OUT/gpu_tests_run3.txt
tail -15 $OUT/gpu_tests_run3.txt
echo "total ${SECONDS}s"
