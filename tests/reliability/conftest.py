"""What the reliability tests share beyond the real servers (tests/support/servers.py)."""

from __future__ import annotations

import pytest

from textal.models.linear import LinearClassifier


@pytest.fixture(scope="module")
def spam_model() -> LinearClassifier:
    """A small spam/ham model to publish, fast to fit and to load."""
    texts = ["free prize call now", "win cash text claim", "see you at lunch", "ok going home later"] * 5
    return LinearClassifier().fit(texts, ["spam", "spam", "ham", "ham"] * 5)
