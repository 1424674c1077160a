"""Reserved held-out text for language-model evaluation (never trained on): Pride and Prejudice.

Debian's r-cran-janeaustenr ships the novels as an R lazy-load database; this reads it without R:
    apt-get download r-cran-janeaustenr && dpkg -x r-cran-janeaustenr_*.deb /tmp/jane
    pip install rdata            # only for this script
    python -m nonattn_core.heldout /tmp/jane .carry/heldout/pride_and_prejudice.txt.xz
"""
from __future__ import annotations

import gzip
import lzma
import sys
import zlib
from pathlib import Path


def read_austen_novel(package_root: str | Path, name: str = "prideprejudice") -> str:
    import rdata  # optional: needed for this one-off extraction only

    data = next(Path(package_root).rglob("janeaustenr/data"))
    index = rdata.conversion.convert(rdata.parser.parse_data(gzip.decompress((data / "Rdata.rdx").read_bytes())))
    offset, length = (int(v) for v in index["variables"][name])
    blob = (data / "Rdata.rdb").read_bytes()[offset:offset + length]
    lines = rdata.conversion.convert(rdata.parser.parse_data(zlib.decompress(blob[4:])))  # 4-byte length, zlib
    return "\n".join(str(line) for line in lines)


if __name__ == "__main__":
    text = read_austen_novel(sys.argv[1])
    with lzma.open(sys.argv[2], "wt", encoding="utf-8") as f:
        f.write(text)
    print(f"{len(text):,} characters -> {sys.argv[2]}")
