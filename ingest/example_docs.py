"""The public example documents of examples/fetch_docs.py (Debian manuals, PyPI plays), for the demo, the
benchmarks, the evaluation and the tests. examples/ is not a package, so the script is loaded by its path, once."""
from __future__ import annotations

import importlib.util
import sys
from functools import lru_cache
from pathlib import Path

FETCH_SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "fetch_docs.py"


@lru_cache(maxsize=1)
def fetch_docs():
    """examples/fetch_docs.py as a module: DOCUMENTS, fetch(name) -> Path, FetchError, DebianFile, ..."""
    spec = importlib.util.spec_from_file_location("fetch_docs", FETCH_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module
