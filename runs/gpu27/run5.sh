#!/bin/bash
# runs/gpu27, call 5 (code 6928103): GPU tests, the A/B of the first span's share on the committed code (32K:
# 0.1875 / 0.25 / 0.3125; 1M: 0.5 / 0.625 / 0.75), the bench, gpu_check.
export PYTHONPATH=. PYTHONUNBUFFERED=1
{ nvidia-smi -L; python -c "import torch, triton; print(torch.__version__, triton.__version__)"; date -u; git log --oneline -1; } > $OUT/env_run5.txt 2>&1
timeout 110 python -m pytest -q -p no:cacheprovider tests/test_fast_paths.py tests/test_triton_block.py > $OUT/gpu_tests_run5.txt 2>&1; echo "exit $?" >> $OUT/gpu_tests_run5.txt
tail -2 $OUT/gpu_tests_run5.txt
P=mean+inplace+mask
AB_VARIANTS=base,norm+beside0.1875+$P,norm+beside0.25+$P,norm+beside0.3125+$P AB_ROUNDS=3 \
  AB_1M_VARIANTS=base,norm+beside0.5+$P,norm+beside0.625+$P,norm+beside0.75+$P AB_PROFILE=norm+beside0.25+$P \
  timeout 150 python runs/gpu27/ab.py > $OUT/ab_run5.txt 2>&1; echo "exit $?" >> $OUT/ab_run5.txt
grep "^round\|exit\|graphed vs" $OUT/ab_run5.txt
echo "after ab: ${SECONDS}s"
timeout 200 python -m nonattn_core.bench --device cuda > $OUT/bench.md 2>&1; echo "exit $?" >> $OUT/bench.md
head -9 $OUT/bench.md
left=$((590 - SECONDS)); echo "gpu_check gets ${left}s"
timeout -s ABRT $left python -X faulthandler -m nonattn_core.gpu_check > $OUT/gpu_check.txt 2>&1; echo "exit $?" >> $OUT/gpu_check.txt
grep -v " ok$" $OUT/gpu_check.txt | tail -5; grep -c " ok$" $OUT/gpu_check.txt
echo "total ${SECONDS}s"
rm -f $OUT/trace_*.json
