"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# ../shared/data beside the checkout, or wherever DATA points (make test passes it on).
DATA_DIR = Path(os.environ.get("DATA", REPO.parent / "shared" / "data")).resolve()

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The shared datasets folder; the suite needs it, so its absence is an error, not a skip."""
    if not (DATA_DIR / "sms_spam" / "train.csv").is_file():
        raise RuntimeError(f"shared datasets not found under {DATA_DIR}; set DATA=/path/to/data")
    return DATA_DIR
