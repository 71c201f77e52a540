"""End-to-end fixtures beyond the shared servers (tests/support/servers.py; redis_url in tests/conftest.py): a Label
Studio on PostgreSQL, and the store `textal serve` answers from before a project has its own model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.dataset_rows import read_rows
from tests.support.servers import LabelStudioServer, label_studio_server, postgres_server, stop_process


@pytest.fixture(scope="module")
def label_studio_postgres(tmp_path_factory) -> Iterator[LabelStudioServer]:
    """A real Label Studio on a real PostgreSQL, as teams run it in production (one per module that asks)."""
    root = tmp_path_factory.mktemp("label-studio-postgres")
    with postgres_server(root) as database:
        server = label_studio_server(root, database=database)
        try:
            server.start()
            yield server
        finally:
            if server.process is not None:
                stop_process(server.process)


@pytest.fixture(scope="session")
def linear_spam_store(tmp_path_factory, data_dir) -> Path:
    """What `textal serve --store` serves before a project has its own model: a linear spam model on 1,500 SMS
    (the tasks come from the test split)."""
    from textal.models.linear import LinearClassifier
    from textal.store.model_store import ModelStore

    rows = read_rows(data_dir / "sms_spam" / "train.csv", 1500)
    model = LinearClassifier(char_ngrams=(3, 4), max_features=20_000, embed_dim=16)
    model.fit([r["text"] for r in rows], [r["label"] for r in rows])
    root = tmp_path_factory.mktemp("e2e-store") / "store"
    ModelStore(root).publish(model, {"note": "e2e", "training_size": len(rows)})
    return root
