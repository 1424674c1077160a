#!/bin/bash
# runs/gpu30, call 4: the cluster GRU kernels 1-3 alone and in the forward; the fast-path GPU tests.
export PYTHONPATH=. PYTHONUNBUFFERED=1
timeout -k 5 60 python runs/gpu30/mode3_check.py > $OUT/mode3_check.txt 2>&1; rc=$?; echo "exit $rc" >> $OUT/mode3_check.txt
cat $OUT/mode3_check.txt | tail -8
[ $rc -ne 0 ] && export AB_SKIP=cl3
AB_ROUNDS=3 timeout -k 10 -s INT 380 python -X faulthandler runs/gpu30/ab4.py > $OUT/ab_run4.txt 2>&1; echo "exit $?" >> $OUT/ab_run4.txt
grep -v "^ *[0-9.]* *[0-9.]* *[0-9.-]* *[0-9]* [0-9]\|^| *[0-9.]* |" $OUT/ab_run4.txt | head -120
timeout -k 5 100 python -m pytest -q -p no:cacheprovider tests/test_fast_paths.py -k "gpu" > $OUT/gpu_tests_run4.txt 2>&1; echo "exit $?" >> $OUT/gpu_tests_run4.txt
tail -15 $OUT/gpu_tests_run4.txt
echo "total ${SECONDS}s"
