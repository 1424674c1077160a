#!/bin/bash
# runs/gpu28, call 9: the MLP's up projection without cuBLAS's memset and the ~5 us wait after it? "upT": normed @
# W^T with W^T kept contiguous (another cuBLAS layout); "lt": cuBLASLt as torch's BLAS backend. On the kept code.
export PYTHONPATH=. PYTHONUNBUFFERED=1
AB_VARIANTS=micro+gate,micro+gate+upT,micro+gate+lt,micro+gate+upT+lt AB_1M_VARIANTS=micro+gate,micro+gate+upT,micro+gate+lt \
AB_ROUNDS=4 AB_PROFILE=micro+gate+upT timeout -s INT 420 python -X faulthandler runs/gpu28/ab.py > $OUT/ab_run9.txt 2>&1; echo "exit $?" >> $OUT/ab_run9.txt
grep -v "^ *[0-9.]* *[0-9.]* *[0-9.-]* *[0-9]* \|^| *[0-9.]* |\|^micro taps\|^micro s4d\|^B=" $OUT/ab_run9.txt | head -120
echo "total ${SECONDS}s"
