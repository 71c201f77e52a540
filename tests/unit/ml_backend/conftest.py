"""Fixtures for the in-process backend tests: a small real spam model, a store, an app client."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ml_backend.config import ServerSettings as Settings
from ml_backend.server.app import create_app
from textal.models.linear import LinearClassifier
from textal.store.model_store import ModelStore

SPAM_CONFIG = (
    '<View><Text name="text" value="$text"/>'
    '<Choices name="label" toName="text" choice="single"><Choice value="ham"/><Choice value="spam"/></Choices></View>'
)
PROJECT = "7.1717000000"


def read_sms(data_dir: Path, n: int, offset: int = 0) -> tuple[list[str], list[str]]:
    with open(data_dir / "sms_spam" / "train.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))[offset : offset + n]
    return [r["text"] for r in rows], [r["label"] for r in rows]


def small_linear(texts: list[str], labels: list[str], C: float = 10.0) -> LinearClassifier:
    """A LinearClassifier small enough to fit in well under a second."""
    return LinearClassifier(C=C, char_ngrams=(3, 4), max_features=20_000, embed_dim=16).fit(texts, labels)


@pytest.fixture(scope="session")
def sms(data_dir: Path) -> tuple[list[str], list[str]]:
    """300 SMS spam texts with labels (training rows 0-299)."""
    return read_sms(data_dir, 300)


@pytest.fixture(scope="session")
def pool_texts(data_dir: Path) -> list[str]:
    """40 other SMS texts, unseen by the models (rows 1000-1039)."""
    return read_sms(data_dir, 40, offset=1000)[0]


@pytest.fixture(scope="session")
def spam_model(sms) -> LinearClassifier:
    return small_linear(*sms)


@pytest.fixture(scope="session")
def other_spam_model(sms) -> LinearClassifier:
    """A second, different model (other data slice, other C) to publish as a newer version."""
    texts, labels = sms
    return small_linear(texts[:150], labels[:150], C=0.5)


@pytest.fixture(scope="session")
def store_dir(tmp_path_factory, spam_model) -> Path:
    """A model store with one published version of ``spam_model``; shared, so never publish into it."""
    root = tmp_path_factory.mktemp("shared") / "store"
    ModelStore(root).publish(spam_model, {"note": "unit test"})
    return root


@pytest.fixture
def own_store(tmp_path: Path, spam_model) -> Path:
    """A store of this test's own with ``spam_model`` as v0001, to publish more versions into."""
    root = tmp_path / "own-store"
    ModelStore(root).publish(spam_model, {"note": "unit test"})
    return root


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[Callable[..., TestClient]]:
    """Build an in-process client over a store; extra keyword arguments become environment entries."""
    clients: list[TestClient] = []

    def build(store: Path, data_dir: Path | None = None, strategy: str = "entropy", **env: str) -> TestClient:
        settings = Settings.create(store, data_dir or tmp_path / "data", strategy, environ=env)
        client = TestClient(create_app(settings))
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client, store_dir) -> TestClient:
    """A client whose project PROJECT is set up with SPAM_CONFIG."""
    c = make_client(store_dir)
    answer = c.post("/setup", json={"project": PROJECT, "schema": SPAM_CONFIG, "hostname": "http://127.0.0.1:1"})
    assert answer.status_code == 200, answer.text
    return c


def tasks_for(texts: list[str], start_id: int = 1) -> list[dict]:
    return [{"id": start_id + i, "data": {"text": t}} for i, t in enumerate(texts)]


@pytest.fixture(name="tasks_for")
def _tasks_for() -> Callable[..., list[dict]]:
    """Turn texts into Label Studio task dicts with ids from ``start_id``."""
    return tasks_for


@pytest.fixture
def spam_config() -> str:
    return SPAM_CONFIG


@pytest.fixture
def project_uid() -> str:
    return PROJECT


@pytest.fixture(name="small_linear")
def _small_linear() -> Callable[..., LinearClassifier]:
    return small_linear
