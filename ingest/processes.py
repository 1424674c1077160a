"""Worker processes that do not outlive the ingestion that started them."""
from __future__ import annotations

import ctypes
import os
import signal

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Pool initializer step: end this worker when its parent dies, kill -9 included (Linux; elsewhere a no-op).

    Without it the workers of a killed run sit blocked on their task queue for ever, each holding a parsed
    document's memory."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before the request took effect
        os._exit(1)
