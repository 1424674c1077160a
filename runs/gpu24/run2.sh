#!/bin/bash
# Session 8, call 2: host time before the 32K graph replay, step by step (host2.py).
export PYTHONPATH=. PYTHONUNBUFFERED=1
timeout 200 python runs/gpu24/host2.py > $OUT/host2_run2.txt 2>&1; echo "exit $?" >> $OUT/host2_run2.txt
cat $OUT/host2_run2.txt
