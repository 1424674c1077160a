#!/bin/bash
# First device call (issue 6, Triton S4D layer): sweep of tilings + profile, gpu_check, tests, layer table,
# whole-model A/B with the Triton layer on / off.
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")/../.."
nvidia-smi --query-gpu=name,clocks.sm,temperature.gpu --format=csv > $OUT/env.txt
python3 -c "import torch, triton; print(torch.__version__, triton.__version__)" >> $OUT/env.txt 2>&1
timeout 170 python3 runs/gpu9/sweep.py > $OUT/sweep.txt 2> $OUT/sweep_err.txt; echo "sweep rc $?" >> $OUT/env.txt
timeout 150 python3 -m nonattn_core.gpu_check > $OUT/gpu_check.txt 2>&1; echo "gpu_check rc $?" >> $OUT/env.txt
timeout 80 python3 -m pytest -q -x tests/test_triton_s4d.py tests/test_fast_paths.py tests/test_model.py > $OUT/pytest.txt 2>&1; echo "pytest rc $?" >> $OUT/env.txt
timeout 60 python3 -m nonattn_core.bench --device cuda --layer-only > $OUT/layer.md 2>&1; echo "layer rc $?" >> $OUT/env.txt
timeout 110 python3 -c "
import nonattn_core.s4d_chunked as s
from nonattn_core.bench import main
for use in [False, True, False, True]:
    s.USE_TRITON = use
    print('USE_TRITON', use)
    main(['--device', 'cuda', '--lengths', '8192,32768,1048576', '--ours-only'])
" > $OUT/model_ab.txt 2>&1; echo "model A/B rc $?" >> $OUT/env.txt
cat $OUT/env.txt; cat $OUT/sweep.txt | grep -v "^-\|^ \|Self\|Name" | head -40; tail -5 $OUT/sweep_err.txt
grep -v " ok$" $OUT/gpu_check.txt | head -30; grep -c " ok$" $OUT/gpu_check.txt; tail -3 $OUT/pytest.txt
cat $OUT/layer.md | tail -24; grep "USE_TRITON\|^| [0-9]" $OUT/model_ab.txt
