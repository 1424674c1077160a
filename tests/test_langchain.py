"""LangChain components against LangChain's own standard test suites, over the real model and embedded Chroma."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from langchain_core.documents import Document
from langchain_tests.integration_tests import EmbeddingsIntegrationTests, RetrieversIntegrationTests
from langchain_tests.unit_tests import EmbeddingsUnitTests

from app.langchain import NonAttnEmbeddings, NonAttnRetriever

COLLECTION = "langchain-test"
QUESTION = "How do you quit the R program?"
ROOT = Path(__file__).resolve().parents[1]
# The standard suites mix sync and async tests; pytest-asyncio (strict mode) runs the async ones only when
# marked, and warns about the sync ones marked along with them.
async_suite = [pytest.mark.asyncio, pytest.mark.filterwarnings(
    "ignore:.*is marked with '@pytest.mark.asyncio' but it is not an async function")]


@pytest.fixture(scope="module")
def ingested_db(r_intro_pdf, pdf_excerpt, tmp_path_factory) -> str:
    """An embedded Chroma holding R-intro's first 10 pages (q() is on page 9)."""
    from ingest.pipeline import ingest_paths
    from ingest.store import Store

    root = tmp_path_factory.mktemp("langchain")
    excerpt = pdf_excerpt(r_intro_pdf, root / "R-intro-excerpt.pdf", 10)
    summary = ingest_paths([str(excerpt)], Store.open(db=str(root / "db")), collection=COLLECTION)
    assert not summary.failed, summary.failed
    return str(root / "db")


class TestNonAttnEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[NonAttnEmbeddings]:
        return NonAttnEmbeddings


class TestNonAttnEmbeddingsIntegration(EmbeddingsIntegrationTests):
    pytestmark = async_suite

    @property
    def embeddings_class(self) -> type[NonAttnEmbeddings]:
        return NonAttnEmbeddings


class TestNonAttnRetriever(RetrieversIntegrationTests):
    pytestmark = async_suite

    @pytest.fixture(autouse=True)
    def _database(self, ingested_db):
        self.db = ingested_db

    @property
    def retriever_constructor(self) -> type[NonAttnRetriever]:
        return NonAttnRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"collection": COLLECTION, "db": self.db, "k": 4}

    @property
    def retriever_query_example(self) -> str:
        return QUESTION


# --- what the standard suites do not check ------------------------------------------------------------------


def test_embeddings_are_the_models_normalised_vectors():
    embeddings = NonAttnEmbeddings()
    vectors = embeddings.embed_documents(["the R program", "quit the session", "the R program"])
    assert len(vectors[0]) == 384
    assert vectors[0] == pytest.approx(vectors[2], abs=1e-6)
    assert sum(v * v for v in vectors[1]) == pytest.approx(1.0, abs=1e-4)
    assert embeddings.embed_query("the R program") == pytest.approx(vectors[0], abs=1e-5)


def test_documents_carry_source_and_page(ingested_db):
    documents = NonAttnRetriever(collection=COLLECTION, db=ingested_db, k=4).invoke(QUESTION)
    assert len(documents) == 4 and all(isinstance(d, Document) for d in documents)
    for document in documents:
        assert document.metadata["source"].endswith("R-intro-excerpt.pdf")
        assert 1 <= document.metadata["page"] <= 10
    assert any("q()" in d.page_content and d.metadata["page"] <= 9 <= d.metadata["page_end"] for d in documents)


def test_invoke_k_overrides_the_constructor(ingested_db):
    retriever = NonAttnRetriever(collection=COLLECTION, db=ingested_db, k=4)
    assert len(retriever.invoke(QUESTION, k=2)) == 2
    assert len(retriever.invoke(QUESTION)) == 4


@pytest.mark.parametrize("k", [0, -1, "3", 2.5, True])
def test_a_per_call_k_that_is_no_positive_integer_is_refused(ingested_db, k):
    retriever = NonAttnRetriever(collection=COLLECTION, db=ingested_db, k=4)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        retriever.invoke(QUESTION, k=k)


def test_a_blank_query_retrieves_nothing_and_a_non_string_is_refused(ingested_db):
    retriever = NonAttnRetriever(collection=COLLECTION, db=ingested_db, k=4)
    assert retriever.invoke("") == [] and retriever.invoke("  \n") == []
    with pytest.raises(TypeError, match="query must be a string"):
        retriever.invoke(None)


def test_missing_collection_is_one_clear_error(ingested_db):
    from ingest.errors import StoreError

    with pytest.raises(StoreError, match="no-such-collection"):
        NonAttnRetriever(collection="no-such-collection", db=ingested_db).invoke(QUESTION)


def test_example_chain_builds_a_cited_prompt(ingested_db, capsys):
    spec = importlib.util.spec_from_file_location("langchain_chain", ROOT / "examples" / "langchain_chain.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    chain = module.build_chain(NonAttnRetriever(collection=COLLECTION, db=ingested_db, k=3))
    result = chain.invoke(QUESTION)
    assert len(result["sources"]) == 3
    assert all(source.startswith("[R-intro-excerpt.pdf, p. ") for source in result["sources"])
    assert "Question: How do you quit the R program?" in result["prompt"]
    assert "q()" in result["prompt"]
    assert module.main([QUESTION, "--db", ingested_db, "--collection", COLLECTION, "-k", "2"]) == 0
    assert "Sources: [R-intro-excerpt.pdf, p. " in capsys.readouterr().out
