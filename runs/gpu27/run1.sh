#!/bin/bash
# runs/gpu27, call 1 (working tree after 1a1006a: normalized_sum in the head, PersistentGRU spans,
# model._upper_beside_gru): GPU tests, the A/B (ab.py, ending with a profile), gpu_check.
export PYTHONPATH=. PYTHONUNBUFFERED=1
{ nvidia-smi -L; python -c "import torch, triton; print(torch.__version__, triton.__version__)"; date -u; } > $OUT/env.txt 2>&1
timeout 150 python -m pytest -q -p no:cacheprovider tests/test_fast_paths.py tests/test_triton_block.py > $OUT/gpu_tests_run1.txt 2>&1; echo "exit $?" >> $OUT/gpu_tests_run1.txt
tail -3 $OUT/gpu_tests_run1.txt
timeout 280 python runs/gpu27/ab.py > $OUT/ab_run1.txt 2>&1; echo "exit $?" >> $OUT/ab_run1.txt
grep -v "^ \|^|" $OUT/ab_run1.txt | head -60
echo "after ab: ${SECONDS}s"
timeout -s ABRT 150 python -X faulthandler -m nonattn_core.gpu_check > $OUT/gpu_check_run1.txt 2>&1; echo "exit $?" >> $OUT/gpu_check_run1.txt
grep -v " ok$" $OUT/gpu_check_run1.txt | tail -5; grep -c " ok$" $OUT/gpu_check_run1.txt
echo "total ${SECONDS}s"
rm -f $OUT/trace_*.json
