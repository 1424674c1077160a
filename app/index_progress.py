"""A progress bar on stderr while the engine computes its indexes for documents it has not read before.

At the first open after an ingest, our model reads every new document again for its span memory, and the fallback's
sentence encoder embeds its chunks: minutes for a collection of millions of tokens on a CPU (`nonattn-qa prepare`
does it ahead of the first question). Documents read before come from the cache in a moment, and then no bar shows.

    with index_progress_bar() as progress:          # None off a terminal: nothing is shown
        engine = QAEngine.open(db=..., collection=..., progress=progress)
"""
from __future__ import annotations

import sys
from typing import Callable

IndexProgress = Callable[[str, int, int], None]     # (index being computed, documents done, documents in all)
SHOW_AFTER_SECONDS = 1.0                            # an index read from the cache is done before its bar would show


class index_progress_bar:
    """A tqdm bar on stderr per index (documents, documents/s), shown once it has taken SHOW_AFTER_SECONDS; nothing
    off a terminal."""

    def __init__(self, enabled: bool | None = None):
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.bars: dict = {}

    def __enter__(self) -> IndexProgress | None:
        return self.update if self.enabled else None

    def update(self, index: str, done: int, total: int) -> None:
        bar = self.bars.get(index)
        if bar is None:
            from tqdm import tqdm

            bar = self.bars[index] = tqdm(total=total, desc=index, unit="doc", file=sys.stderr,
                                          delay=SHOW_AFTER_SECONDS, dynamic_ncols=True)
        bar.update(done - bar.n)

    def __exit__(self, *exc) -> None:
        for bar in self.bars.values():
            bar.close()
        self.bars.clear()
