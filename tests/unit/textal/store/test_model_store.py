"""ModelStore: versions appear whole or not at all, even when the writer is killed mid-publish."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading

import pytest

from tests.support.waits import wait_until
from textal.errors import StoreError
from textal.models.linear import LinearClassifier
from textal.store.model_store import ModelStore

TEXTS = ["win cash now", "free prize call", "see you soon", "lunch at noon?", "claim your reward", "meeting moved"]
LABELS = ["spam", "spam", "ham", "ham", "spam", "ham"]


@pytest.fixture(scope="module")
def model():
    return LinearClassifier(embed_dim=2).fit(TEXTS, LABELS)


def test_publish_returns_increasing_versions_and_latest_follows(tmp_path, model):
    store = ModelStore(tmp_path)
    assert store.latest() is None and store.versions() == []
    v1 = store.publish(model, {"training_size": 6})
    v2 = store.publish(model, {"training_size": 6})
    assert (v1, v2) == ("v0001", "v0002")
    assert store.latest() == "v0002"
    assert store.versions() == ["v0001", "v0002"]


def test_card_holds_labels_parent_time_and_textal_version(tmp_path, model):
    store = ModelStore(tmp_path)
    store.publish(model, {"metrics": {"macro_f1": 0.5}})
    v2 = store.publish(model, {"data_fingerprint": "abc"})
    card = store.card(v2)
    assert card["labels"] == ["ham", "spam"]
    assert card["parent"] == "v0001"
    assert card["version"] == "v0002"
    assert card["data_fingerprint"] == "abc"
    assert card["created_at"] and card["textal_version"]


def test_loaded_version_predicts_like_the_published_model(tmp_path, model):
    store = ModelStore(tmp_path)
    store.publish(model)
    assert (store.load().predict_proba(TEXTS) == model.predict_proba(TEXTS)).all()


def test_unpromoted_version_is_kept_but_not_served(tmp_path, model):
    store = ModelStore(tmp_path)
    v1 = store.publish(model)
    v2 = store.publish(model, promote=False)
    assert store.latest() == v1
    assert v2 in store.versions()
    store.promote(v2)
    assert store.latest() == v2


def test_keep_prunes_the_oldest_but_never_the_served_version(tmp_path, model):
    store = ModelStore(tmp_path, keep=2)
    v1 = store.publish(model)
    for _ in range(3):
        store.publish(model, promote=False)
    assert store.latest() == v1
    assert store.versions() == [v1, "v0004"]


def test_unknown_version_and_empty_store_are_clear_errors(tmp_path, model):
    store = ModelStore(tmp_path)
    with pytest.raises(StoreError, match="no published model yet"):
        store.load()
    store.publish(model)
    with pytest.raises(StoreError, match=r"no version 'v0009' \(published: v0001\)"):
        store.load("v0009")


def test_concurrent_publishers_get_distinct_versions(tmp_path, model):
    store = ModelStore(tmp_path, keep=50)
    names: list[str] = []
    lock = threading.Lock()

    def publish():
        name = ModelStore(tmp_path, keep=50).publish(model)
        with lock:
            names.append(name)

    threads = [threading.Thread(target=publish) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(names) == [f"v{i:04d}" for i in range(1, 7)]
    assert store.versions() == sorted(names)


def test_failed_save_leaves_no_version_and_no_staging(tmp_path, model):
    store = ModelStore(tmp_path)
    v1 = store.publish(model)

    def broken(m, path):
        m.save(path)
        raise OSError("disk full")

    with pytest.raises(OSError):
        store.publish(model, write=broken)
    assert store.versions() == [v1] and store.latest() == v1
    assert list(store.staging_dir.iterdir()) == []


PUBLISHER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from textal.models.linear import LinearClassifier
    from textal.store.model_store import ModelStore

    root, marker = sys.argv[1], Path(sys.argv[2])
    model = LinearClassifier(embed_dim=2).fit({texts!r}, {labels!r})

    def slow_write(m, path):
        m.save(path)              # half of the version is on disk...
        marker.write_text("saved")
        time.sleep(60)            # ...and the writer is killed here

    ModelStore(root).publish(model, {{"training_size": 6}}, write=slow_write)
    """
).format(texts=TEXTS, labels=LABELS)


def test_writer_killed_mid_publish_leaves_the_store_as_it_was(tmp_path, model):
    root = tmp_path / "store"
    store = ModelStore(root)
    v1 = store.publish(model)
    marker = tmp_path / "marker"
    script = tmp_path / "publisher.py"
    script.write_text(PUBLISHER)
    proc = subprocess.Popen([sys.executable, str(script), str(root), str(marker)])
    try:

        def reached() -> bool:
            if marker.exists():
                return True
            assert proc.poll() is None, "publisher exited before it was killed"
            return False

        wait_until(reached, 120, 0.05, what="the publisher to reach the middle of its publish")
        assert any(store.staging_dir.iterdir()), "the half-written version should sit in staging"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    # A reader sees exactly the store as it was.
    assert store.versions() == [v1]
    assert store.latest() == v1
    assert store.load().predict(TEXTS) == model.predict(TEXTS)
    # The next publish sweeps the dead writer's leftovers and takes the next number.
    v2 = store.publish(model)
    assert v2 == "v0002"
    assert list(store.staging_dir.iterdir()) == []


def pickle_like_older_textal(store: ModelStore, version: str, model) -> None:
    """Turn a published linear version into what an older textal wrote: its learned parts in linear.joblib."""
    import joblib

    folder = store.path(version) / "model"
    for name in ("linear.json", "linear.npz"):
        (folder / name).unlink()
    joblib.dump(
        {"word": model.word_vec_, "char": model.char_vec_, "head": model.head_, "svd": model.svd_},
        folder / "linear.joblib",
    )


def test_a_pickled_version_is_refused_with_the_command_that_converts_the_store(tmp_path, model):
    store = ModelStore(tmp_path / "my store")
    version = store.publish(model)
    pickle_like_older_textal(store, version, model)
    with pytest.raises(StoreError) as caught:
        store.load()
    assert str(caught.value) == (
        "v0001 is an older textal's pickle (model/linear.joblib), not loaded: pickles can run code. "
        f"If you trust this store: textal store convert --trust-pickles '{tmp_path / 'my store'}'"
    )


def test_convert_pickles_rewrites_old_versions_in_place_and_keeps_names_cards_and_predictions(tmp_path, model):
    store = ModelStore(tmp_path)
    old, kept, new = (store.publish(model, {"n": i}) for i in range(3))
    for version in (old, kept):
        pickle_like_older_textal(store, version, model)
    cards = {v: store.card(v) for v in store.versions()}
    assert store.convert_pickles() == [(old, ["model/linear.joblib"]), (kept, ["model/linear.joblib"])]
    assert store.versions() == [old, kept, new] and store.latest() == new
    assert {v: store.card(v) for v in store.versions()} == cards
    for version in (old, kept, new):
        assert store.load(version).predict_proba(TEXTS).tolist() == model.predict_proba(TEXTS).tolist()
        assert not (store.path(version) / "model" / "linear.joblib").exists()
    assert store.convert_pickles() == []
    with pytest.raises(StoreError, match="not a model store"):
        ModelStore(tmp_path / "nothing").convert_pickles()
