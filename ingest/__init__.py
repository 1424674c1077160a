"""Ingestion: parse, chunk, encode with the model, store in Chroma."""
import os

# CPU encoding shares a few cores with the parser processes and whatever else runs: OpenMP threads that spin
# while they wait (libgomp's default) then stall one another (2 threads on a loaded 2-core machine: 1.6K
# instead of 8.5K tokens/s). libgomp reads this once, when torch loads, hence here, before anything imports it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
