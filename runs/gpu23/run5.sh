#!/bin/bash
# Session 7, call 6: the mixer gate inside the out projection's GEMM (mixer_gate.py), the GPU tests, gpu_check.
export PYTHONPATH=. TIKTOKEN_CACHE_DIR=$PWD/.carry/tiktoken
timeout 200 python runs/gpu23/mixer_gate.py > $OUT/mixer_gate.txt 2>&1; echo "exit $?" >> $OUT/mixer_gate.txt
timeout 120 python -m pytest -q -x tests/test_triton_block.py > $OUT/pytest.txt 2>&1; echo "exit $?" >> $OUT/pytest.txt
timeout -s ABRT 230 python -X faulthandler -m nonattn_core.gpu_check > $OUT/gpu_check.txt 2>&1; echo "exit $?" >> $OUT/gpu_check.txt
cat $OUT/mixer_gate.txt | grep -v Warn; tail -3 $OUT/pytest.txt; grep -v " ok$" $OUT/gpu_check.txt | tail; grep -c " ok$" $OUT/gpu_check.txt
