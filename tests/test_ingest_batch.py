"""Short documents read side by side (Encoder.encode_many) give what reading each alone gives, with no leaks."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ingest.pipeline import IngestOptions, ingest_paths
from ingest.store import Store
from nonattn_core import InProcessMemory, StreamState
from tests.test_ingest_pipeline import all_rows, lines

# (length, hold): holds mid-chunk, on a chunk edge, at the end and at 0; lengths across piece edges (piece 300)
DOCS = [(700, 650), (256, 200), (1000, 512), (90, 90), (513, 0)]


@pytest.fixture(scope="module")
def encoder():
    from ingest.encode import Encoder

    return Encoder("cpu", piece_tokens=300)


def documents(seed=0, docs=DOCS):
    rng = np.random.default_rng(seed)
    return [(rng.integers(0, 100_000, length).tolist(), hold) for length, hold in docs]


def state_of(data: bytes) -> StreamState:
    return StreamState.from_bytes(data, memory=InProcessMemory(torch.zeros(1, 0, 384)))


def assert_same_state(a: bytes, b: bytes, tolerance: float = 1e-4):
    a, b = state_of(a), state_of(b)
    assert a.position == b.position and a.lm_ready == b.lm_ready
    pairs = [(a.chunk_sum, b.chunk_sum), (a.supervisor, b.supervisor)]
    for x, y in zip(a.blocks, b.blocks):
        assert (x.ssm is None) == (y.ssm is None)
        if x.ssm is not None:
            pairs += [(x.ssm, y.ssm), (x.conv_tail, y.conv_tail)]
    for x, y in pairs:
        assert (x - y).abs().max() <= tolerance * max(1.0, float(x.abs().max()))


def test_batched_documents_equal_one_at_a_time(encoder, inference_precision):
    docs = documents()
    together = encoder.encode_many(docs)
    for (tokens, hold), got in zip(docs, together):
        alone = encoder.encode(tokens, hold)
        assert got.first_chunk == alone.first_chunk == 0
        assert got.embeddings.shape == alone.embeddings.shape == (-(-len(tokens) // 256), 384)
        assert np.abs(got.embeddings - alone.embeddings).max() <= inference_precision
        assert_same_state(got.state, alone.state, 1e-4 if inference_precision < 1e-3 else 2 ** -6)  # bf16 tails: 4 ulps


def test_no_leak_between_batched_documents(encoder):
    docs = documents()
    other = documents(seed=7)
    changed = [docs[0], other[1], docs[2], other[3], other[4]]  # rows 1, 3 and 4 replaced
    a, b = encoder.encode_many(docs), encoder.encode_many(changed)
    for row in (0, 2):
        assert np.abs(a[row].embeddings - b[row].embeddings).max() <= 1e-5
        assert_same_state(a[row].state, b[row].state)


def test_pipeline_batches_short_files_with_the_same_result(tmp_path, inference_precision):
    from ingest.encode import Encoder

    for i in range(5):
        (tmp_path / "docs" / f"d{i}.txt").parent.mkdir(exist_ok=True)
        (tmp_path / "docs" / f"d{i}.txt").write_text(lines(10 + i, 20 + 40 * i))
    results = []
    for batch in (1, 3):
        store = Store.open(db=tmp_path / f"db{batch}")
        encoder = Encoder("cpu", piece_tokens=2048, batch_documents=batch)
        summary = ingest_paths([str(tmp_path / "docs")], store, options=IngestOptions(device="cpu", parse_workers=1),
                               encoder=encoder)
        assert not summary.failed and len(summary.ingested) == 5
        results.append(all_rows(store))
    (ids1, emb1, texts1), (ids3, emb3, texts3) = results
    assert ids1 == ids3 and texts1 == texts3
    assert np.abs(emb1 - emb3).max() <= inference_precision
