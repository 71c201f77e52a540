"""Fixtures of the worker's unit tests (the fakes live in worker_fakes.py)."""

from __future__ import annotations

import pytest
from worker_fakes import Harness, sms_like


@pytest.fixture
def harness(tmp_path) -> Harness:
    return Harness(tmp_path / "data")


@pytest.fixture
def pool(harness) -> dict[int, str]:
    """60 tasks imported into the fake project; returns each task's true label."""
    texts, labels = zip(*(sms_like(i) for i in range(60)))
    ids = harness.studio.add_tasks(list(texts))
    return dict(zip(ids, labels))
