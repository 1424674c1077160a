#!/bin/bash
# Session 9, call 10: the committed code: the bench table, gpu_check, the GPU tests of the touched files, a profile.
export PYTHONPATH=. PYTHONUNBUFFERED=1
{ nvidia-smi -L; python -c "import torch, triton; print(torch.__version__, triton.__version__)"; date -u; } > $OUT/env.txt 2>&1
timeout 200 python -m nonattn_core.bench --device cuda > $OUT/bench.md 2>&1; echo "exit $?" >> $OUT/bench.md
timeout -s ABRT 260 python -X faulthandler -m nonattn_core.gpu_check > $OUT/gpu_check.txt 2>&1; echo "exit $?" >> $OUT/gpu_check.txt
timeout 90 python -m pytest -q -p no:cacheprovider tests/test_fast_paths.py tests/test_triton_block.py > $OUT/gpu_tests.txt 2>&1; echo "exit $?" >> $OUT/gpu_tests.txt
timeout 35 python runs/gpu25/profile.py 32768 > $OUT/profile_final.txt 2>&1; echo "exit $?" >> $OUT/profile_final.txt
cat $OUT/bench.md | head -12; grep -v " ok$" $OUT/gpu_check.txt | tail -5; grep -c " ok$" $OUT/gpu_check.txt; tail -3 $OUT/gpu_tests.txt; head -4 $OUT/profile_final.txt
