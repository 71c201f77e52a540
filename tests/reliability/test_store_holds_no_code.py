"""A model store is data, not code (issue 26, new 1).

A pickle whose unpickling runs a shell command (``__reduce__`` -> ``os.system``) is planted where an older
textal kept a version's learned state (``model/linear.joblib``), in the latest version and an older one, and
beside the data of a version that is whole. Through the loading code of ``textal score --store`` (the CLI
itself) and ``textal serve --store`` (its model slot, with its fall-back to the newest version that loads, and
a real ``textal serve``): the command never runs, and the user gets one line naming the command that
converts a store they trust.
"""

from __future__ import annotations

import os
import pickle
import shlex
from pathlib import Path

import httpx
import joblib
import pytest

from ml_backend.scoring.loaded import load_version
from ml_backend.server.slots import ModelSlot
from tests.support.waits import wait_until
from textal.errors import StoreError
from textal.store.model_store import ModelStore

CONVERT = "textal store convert --trust-pickles"


class Planted:
    """Unpickling this creates ``marker`` through a shell, as the probe's ``os.system`` did."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {shlex.quote(str(self.marker))}",)


def plant(store: ModelStore, version: str, marker: Path, *, keep_data: bool = False) -> None:
    """Put the payload where an older textal kept the version's learned state (and in a few other pickle names)."""
    folder = store.path(version) / "model"
    if not keep_data:
        for name in ("linear.json", "linear.npz"):
            (folder / name).unlink(missing_ok=True)  # (an older textal wrote none)
    for name in ("linear.joblib", "head.joblib", "extra.pkl"):
        joblib.dump(Planted(marker), folder / name)


@pytest.fixture
def planted_store(tmp_path, spam_model) -> tuple[ModelStore, Path]:
    """v0001 and v0002 (the latest) planted, nothing else: no version loads."""
    store = ModelStore(tmp_path / "store")
    marker = tmp_path / "payload-ran"
    for _ in range(2):
        plant(store, store.publish(spam_model), marker)
    assert store.latest() == "v0002"
    return store, marker


def test_the_planted_payload_is_live(tmp_path):
    """The plant is real: unpickling it does run the command (so the tests below would see it)."""
    marker = tmp_path / "payload-ran"
    pickle.loads(pickle.dumps(Planted(marker)))
    assert marker.exists()


def test_textal_score_runs_nothing_and_says_how_to_convert_in_one_line(planted_store, tmp_path, textal_cli):
    store, marker = planted_store
    pool = tmp_path / "pool.csv"
    pool.write_text("text\nfree prize call now\nsee you at lunch\n")
    for version in ([], ["--version", "v0001"]):
        code, out, err = textal_cli(["score", str(pool), "--store", str(store.root), *version])
        assert not marker.exists(), "the planted payload ran"
        assert code == 2 and out == ""
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].endswith(f"{CONVERT} {store.root}"), lines
        assert "pickle" in lines[0] and "Traceback" not in err
    assert not marker.exists()


def test_textal_serve_loading_and_its_fall_back_run_nothing(planted_store):
    store, marker = planted_store
    slot = ModelSlot(store.root, base=True)
    for _ in range(3):  # the latest fails, then the fall-back tries the older one: neither runs the payload
        assert slot.get(wait=10) is None
        assert not marker.exists(), "the planted payload ran"
    for version in store.versions():
        with pytest.raises(StoreError, match=f"{version} is an older textal's pickle.*{CONVERT}"):
            load_version(store, version, base=True)
    assert "v0001" in slot._failed and "v0002" in slot._failed
    assert CONVERT in (slot.problem or "")
    assert not marker.exists()


def test_a_whole_version_with_pickles_beside_its_data_is_served_without_reading_them(planted_store, spam_model):
    store, marker = planted_store
    good = store.publish(spam_model)
    plant(store, good, marker, keep_data=True)
    slot = ModelSlot(store.root, base=True)
    loaded = slot.get(wait=30)
    assert not marker.exists(), "the planted payload ran"
    assert loaded is not None and loaded.version == good
    assert loaded.model.predict(["free prize call now"]) == ["spam"]
    assert not marker.exists()


@pytest.mark.slow
def test_a_real_textal_serve_runs_nothing_and_reports_the_convert_command(planted_store, start_backend):
    store, marker = planted_store
    backend = start_backend(store.root)  # it answers: no version loads, and the server does not go down
    assert not marker.exists(), "the planted payload ran"

    def degraded() -> dict | None:
        health = httpx.get(f"{backend.url}/health", timeout=5).json()
        return health if "degraded" in health else None

    health = wait_until(degraded, 30, 0.2, what="/health to report the pickled versions")
    assert "is an older textal's pickle" in health["degraded"] and CONVERT in health["degraded"]
    assert not marker.exists()
