"""Build app/data/wordnet_nouns.txt.gz, the part of WordNet 3.0 that app.kinds reads, from WordNet's database files.

    apt-get download wordnet-base && dpkg -x wordnet-base_*.deb wn
    python -m app.kinds_build wn/usr/share/wordnet

What is kept: every noun synset's lexicographer file and its hypernyms (class and instance), the senses of every
one-word noun in WordNet's order (most frequent first), the irregular plurals, and the nouns that have more senses
as a verb ('bear': 2 as a noun, 13 as a verb). Synsets are numbered 0.. in the order of data.noun. Lines:

    S <lexfile number> <hypernym numbers, comma-separated or ->
    W <lemma> <sense synset numbers, comma-separated>
    X <irregular form> <lemma>
    V <lemma>
"""
from __future__ import annotations

import argparse
import gzip
import sys
from pathlib import Path

OUTPUT = Path(__file__).parent / "data" / "wordnet_nouns.txt.gz"
HEADER = ("# Nouns of WordNet 3.0 (Debian wordnet-base), reduced by app/kinds_build.py.\n"
          "# WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved. See WORDNET_LICENSE.\n")
_HYPERNYM_POINTERS = ("@", "@i")


def read_synsets(data_noun: Path) -> tuple[list[tuple[int, list[str]]], dict[str, int]]:
    """[(lexfile, hypernym offsets)] in file order, and offset -> number."""
    synsets, number_of = [], {}
    for line in data_noun.read_text(encoding="latin-1").splitlines():
        if line.startswith(" "):
            continue                                   # the licence header
        fields = line.split(" | ")[0].split()
        offset, lexfile, word_count = fields[0], int(fields[1]), int(fields[3], 16)
        at = 4 + 2 * word_count
        pointers = [fields[at + 1 + 4 * i: at + 5 + 4 * i] for i in range(int(fields[at]))]
        hypernyms = [target for symbol, target, pos, _ in pointers if symbol in _HYPERNYM_POINTERS and pos == "n"]
        number_of[offset] = len(synsets)
        synsets.append((lexfile, hypernyms))
    return synsets, number_of


def read_senses(index_file: Path) -> dict[str, list[str]]:
    """One-word lemma -> its synset offsets, most frequent sense first (index.noun, index.verb)."""
    senses = {}
    for line in index_file.read_text(encoding="latin-1").splitlines():
        if line.startswith(" "):
            continue
        fields = line.split()
        lemma, sense_count, pointer_count = fields[0], int(fields[2]), int(fields[3])
        if "_" not in lemma:
            senses[lemma] = fields[6 + pointer_count: 6 + pointer_count + sense_count]
    return senses


def build(wordnet_dir: Path, output: Path = OUTPUT) -> int:
    synsets, number_of = read_synsets(wordnet_dir / "data.noun")
    senses = read_senses(wordnet_dir / "index.noun")
    verb_senses = read_senses(wordnet_dir / "index.verb")
    lines = [HEADER]
    for lexfile, hypernyms in synsets:
        lines.append(f"S {lexfile} {','.join(str(number_of[h]) for h in hypernyms) or '-'}\n")
    for lemma, offsets in sorted(senses.items()):
        lines.append(f"W {lemma} {','.join(str(number_of[o]) for o in offsets)}\n")
    for line in (wordnet_dir / "noun.exc").read_text(encoding="latin-1").splitlines():
        form, lemma = line.split()[:2]
        if "_" not in form and lemma in senses:
            lines.append(f"X {form} {lemma}\n")
    for lemma, offsets in sorted(senses.items()):
        if len(verb_senses.get(lemma, ())) > len(offsets):
            lines.append(f"V {lemma}\n")
    output.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(lines).encode("utf-8")
    output.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))     # the same bytes on every build
    return len(synsets)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.kinds_build", description=__doc__.split("\n\n")[0])
    parser.add_argument("wordnet_dir", type=Path, help="WordNet 3.0's dict directory (data.noun, index.noun, ...)")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    needed = ("data.noun", "index.noun", "index.verb", "noun.exc")
    missing = [name for name in needed if not (args.wordnet_dir / name).is_file()]
    if missing:
        print(f"error: {args.wordnet_dir} has no {', '.join(missing)} (WordNet 3.0's dict directory)", file=sys.stderr)
        return 2
    count = build(args.wordnet_dir, args.output)
    print(f"{args.output}: {count} noun synsets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
