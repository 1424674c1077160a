#!/bin/bash
# Session 10, call 2 (code 57a526b): the A/B again, 3 rounds at 32K (no streaming check, no 1M), and the profile
# of the committed code's whole-forward graph at 32K (ab.py's end).
export PYTHONPATH=. PYTHONUNBUFFERED=1
AB_ROUNDS=3 AB_1M=0 timeout 200 python runs/gpu26/ab.py > $OUT/ab_run2.txt 2>&1; echo "exit $?" >> $OUT/ab_run2.txt
grep "^round\|vs base\|last replay\|per replay" $OUT/ab_run2.txt; tail -2 $OUT/ab_run2.txt
rm -f $OUT/trace_*.json
