#!/bin/bash
# One device call: checks, tests, benches, profiles; logs under $OUT.
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,clocks.sm,temperature.gpu --format=csv > $OUT/env.txt
python3 -c "import torch, triton; print(torch.__version__, triton.__version__)" >> $OUT/env.txt
timeout 150 python3 -m nonattn_core.gpu_check > $OUT/gpu_check.txt 2>&1; echo "gpu_check rc $?" >> $OUT/env.txt
timeout 120 python3 -m pytest -q tests/test_fast_paths.py tests/test_model.py > $OUT/pytest.txt 2>&1; echo "pytest rc $?" >> $OUT/env.txt
timeout 200 python3 -m nonattn_core.bench --device cuda > $OUT/bench.md 2>&1; echo "bench rc $?" >> $OUT/env.txt
NONATTN_CUDA_GRAPHS=0 timeout 40 python3 -m nonattn_core.bench --device cuda --profile 32768 > $OUT/profile32k.txt 2>&1
echo "=== with graphs" >> $OUT/profile32k.txt
timeout 40 python3 -m nonattn_core.bench --device cuda --profile 32768 >> $OUT/profile32k.txt 2>&1
timeout 60 python3 -c "
import nonattn_core.s4d_chunked as s
from nonattn_core.bench import main
for b, g in [(512, 8), (256, 16)]:
    s.BLOCK_GPU, s.GROUP_GPU = b, g
    print('BLOCK_GPU', b, 'GROUP_GPU', g)
    main(['--device', 'cuda', '--lengths', '32768,1048576', '--ours-only'])
" > $OUT/block512.txt 2>&1
cat $OUT/env.txt; tail -8 $OUT/gpu_check.txt; tail -3 $OUT/pytest.txt; cat $OUT/bench.md; cat $OUT/block512.txt
