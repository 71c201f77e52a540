"""A full disk while a version is published: nothing half-written is served, the last good version stays latest,
and the next publish (space freed) works."""

from __future__ import annotations

import errno

import pytest

from textal.store import model_store as store_module
from textal.store.model_store import ModelStore


def full_disk(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_while_the_model_is_written_leaves_the_store_as_it_was(tmp_path, spam_model):
    store = ModelStore(tmp_path / "store")
    good = store.publish(spam_model, {"note": "good"})

    def write_then_fill(model, path):
        path.mkdir()
        (path / "weights.bin").write_bytes(b"\0" * 4096)  # part of the model made it to disk
        full_disk()

    with pytest.raises(OSError) as exc:
        store.publish(spam_model, {"note": "cut short"}, write=write_then_fill)
    assert exc.value.errno == errno.ENOSPC
    assert store.latest() == good and store.versions() == [good]
    assert not any(store.staging_dir.iterdir())  # the half-written version is gone
    assert store.load().predict_proba(["free prize"]).shape == (1, 2)
    assert store.publish(spam_model, {"note": "after"}) == "v0002" and store.latest() == "v0002"


def test_a_full_disk_while_latest_is_switched_keeps_the_previous_version_latest(tmp_path, spam_model, monkeypatch):
    store = ModelStore(tmp_path / "store")
    good = store.publish(spam_model, {"note": "good"})
    monkeypatch.setattr(store_module, "atomic_write_text", full_disk)
    with pytest.raises(OSError):
        store.publish(spam_model, {"note": "unpromoted"})
    assert store.latest() == good  # the new version exists on disk but nothing points at it
    assert (store.root / "LATEST").read_text().strip() == good
