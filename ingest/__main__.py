"""`python -m ingest ...` (and `torchrun --nproc_per_node N -m ingest ...`): see ingest.cli."""
import sys

from ingest.cli import main

sys.exit(main())
