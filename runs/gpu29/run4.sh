#!/bin/bash
# runs/gpu29, call 4: the tagged-word GRU barrier and the rest of the working tree against the committed code; the
# GPU tests.
export PYTHONPATH=. PYTHONUNBUFFERED=1
AB_ROUNDS=3 timeout -s INT 330 python -X faulthandler runs/gpu29/ab4.py > $OUT/ab_run4.txt 2>&1; echo "exit $?" >> $OUT/ab_run4.txt
grep -v "^ *[0-9.]* *[0-9.]* *[0-9.-]* *[0-9]* \|^| *[0-9.]* |" $OUT/ab_run4.txt | head -80
timeout 150 python -m pytest -q -p no:cacheprovider tests/test_fast_paths.py tests/test_triton_block.py tests/test_triton_s4d.py > $OUT/gpu_tests_run4.txt 2>&1; echo "exit $?" >> $OUT/gpu_tests_run4.txt
tail -4 $OUT/gpu_tests_run4.txt
echo "total ${SECONDS}s"
