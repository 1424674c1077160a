#!/bin/bash
# runs/gpu28, call 8 (on the H100 again; call 7 ran on an H200): the kept code (micro + the gate from 64K tokens)
# against base at 8K, 16K, 32K and 1M; a profile of it; the GPU tests.
export PYTHONPATH=. PYTHONUNBUFFERED=1
{ nvidia-smi -L; python -c "import torch, triton; print(torch.__version__, triton.__version__)"; date -u; } > $OUT/env_run8.txt 2>&1
AB_SHORT=8192,16384 AB_ROUNDS=4 AB_PROFILE=micro+gate timeout -s INT 420 python -X faulthandler runs/gpu28/ab.py > $OUT/ab_run8.txt 2>&1; echo "exit $?" >> $OUT/ab_run8.txt
grep -v "^ *[0-9.]* *[0-9.]* *[0-9.-]* *[0-9]* \|^| *[0-9.]* |\|^micro taps\|^micro s4d\|^B=" $OUT/ab_run8.txt | head -120
grep -c "equal True.*equal True" $OUT/ab_run8.txt; grep "equal False" $OUT/ab_run8.txt | head -3
left=$((585 - SECONDS)); echo "tests get ${left}s"
timeout $left python -m pytest -q -p no:cacheprovider tests/test_fast_paths.py tests/test_triton_block.py > $OUT/gpu_tests_run8.txt 2>&1; echo "exit $?" >> $OUT/gpu_tests_run8.txt
tail -3 $OUT/gpu_tests_run8.txt
echo "total ${SECONDS}s"
