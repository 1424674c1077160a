#!/bin/bash
# runs/gpu27, call 2 (same code as call 1): the A/B over the first span's share (0.125-0.5) and the GRU stream's
# priority, 1M for base/norm/0.375/0.5, a profile of the 0.25 variant's whole-forward graph; gpu_check.
export PYTHONPATH=. PYTHONUNBUFFERED=1
AB_SHARES=0.125,0.25,0.375,0.5 AB_LOWPRIO=1 AB_1M_VARIANTS=base,norm,norm+beside0.375,norm+beside0.5 \
  AB_PROFILE=norm+beside0.25 timeout 300 python runs/gpu27/ab.py > $OUT/ab_run2.txt 2>&1; echo "exit $?" >> $OUT/ab_run2.txt
grep -v "^ \|^|" $OUT/ab_run2.txt | head -60; grep "^|" $OUT/ab_run2.txt | head -30
echo "after ab: ${SECONDS}s"
timeout -s ABRT 250 python -X faulthandler -m nonattn_core.gpu_check > $OUT/gpu_check_run2.txt 2>&1; echo "exit $?" >> $OUT/gpu_check_run2.txt
grep -v " ok$" $OUT/gpu_check_run2.txt | tail -5; grep -c " ok$" $OUT/gpu_check_run2.txt
echo "total ${SECONDS}s"
rm -f $OUT/trace_*.json
