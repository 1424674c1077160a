#!/bin/bash
# runs/gpu28, call 10: cuBLAS without a workspace (CUBLAS_WORKSPACE_CONFIG=:0:0), processes alternating with the
# default: does the MLP up projection's kernel lose its memset and the ~5 us wait after it?
export PYTHONPATH=. PYTHONUNBUFFERED=1
for round in 1 2 3; do
  for ws in default ":0:0"; do
    if [ "$ws" = default ]; then unset CUBLAS_WORKSPACE_CONFIG; else export CUBLAS_WORKSPACE_CONFIG=$ws; fi
    timeout 100 python runs/gpu28/ws.py 2>&1 | grep -v Warning >> $OUT/ws_run10.txt
  done
done
unset CUBLAS_WORKSPACE_CONFIG
cat $OUT/ws_run10.txt
echo "total ${SECONDS}s"
