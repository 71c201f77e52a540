"""EmbedHeadClassifier (tiny BERT): the fast tier's fit/predict, embeddings in and out, save/load self-contained."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from textal.errors import ModelError
from textal.models import load_classifier
from textal.models.classifier import MODEL_FILE
from textal.models.embed_head import ENCODER_DIR, EmbedHeadClassifier
from textal.models.embedding_cache import CACHE_FILE
from textal.models.encoder import Encoder

SPAM = ["win cash prize now", "free money claim now", "urgent reward call now txt stop", "claim your free prize"]
HAM = ["meet for lunch tomorrow", "see you at home later", "thanks love see you tonight", "sorry going to sleep"]
TEXTS = SPAM + HAM
LABELS = ["spam"] * 4 + ["ham"] * 4


def test_fit_and_predict_proba_over_all_declared_classes(tiny_bert_dir):
    model = EmbedHeadClassifier(classes=["spam", "ham", "other"], model=str(tiny_bert_dir)).fit(TEXTS, LABELS)
    proba = model.predict_proba(TEXTS)
    assert proba.shape == (8, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    assert model.labels_ == ["spam", "ham", "other"]
    assert len({tuple(row) for row in proba.round(6)}) > 1  # answers depend on the text
    assert model.embed(TEXTS).shape == (8, 32)


def test_embeddings_in_give_the_same_answers_as_texts_in(tiny_bert_dir):
    encoder = Encoder(model=str(tiny_bert_dir))
    X = encoder.encode(TEXTS)
    from_texts = EmbedHeadClassifier(model=str(tiny_bert_dir)).fit(TEXTS, LABELS)
    from_vectors = EmbedHeadClassifier(model=str(tiny_bert_dir)).fit_embeddings(X, LABELS)
    np.testing.assert_allclose(from_vectors.predict_proba_embeddings(X), from_texts.predict_proba(TEXTS), atol=1e-6)
    assert from_vectors.encoder_fingerprint_ == encoder.fingerprint
    with pytest.raises(ModelError, match="shape"):
        from_vectors.predict_proba_embeddings(X[:, :5])


def test_multi_label_head_gives_independent_probabilities(tiny_bert_dir):
    labels = [("money", "spam"), ("money",), ("spam",), ("money", "spam"), ("home",), (), ("home",), ()]
    proba = EmbedHeadClassifier(model=str(tiny_bert_dir)).fit(TEXTS, labels).predict_proba(TEXTS)
    assert proba.shape == (8, 3)
    assert not np.allclose(proba.sum(axis=1), 1.0, atol=1e-3)


def test_save_load_round_trip_keeps_probabilities_and_copies_a_local_encoder_into_the_model(tiny_bert_dir, tmp_path):
    model = EmbedHeadClassifier(model=str(tiny_bert_dir), cache_dir=tmp_path / "cache").fit(TEXTS, LABELS)
    model.save(tmp_path / "m")
    back = load_classifier(tmp_path / "m")
    assert isinstance(back, EmbedHeadClassifier)
    np.testing.assert_array_equal(back.predict_proba(TEXTS), model.predict_proba(TEXTS))
    assert {p.name for p in (tmp_path / "m").iterdir()} == {MODEL_FILE, "head.json", "head.npz", ENCODER_DIR}
    assert back.model == str((tmp_path / "m" / ENCODER_DIR).resolve()) and back.cache_dir is None
    saved = (tmp_path / "m" / MODEL_FILE).read_text()
    assert json.loads(saved)["params"]["model"] == ENCODER_DIR
    assert str(tmp_path) not in saved and str(tiny_bert_dir) not in saved  # no path outside the model folder


def test_a_saved_model_loads_elsewhere_after_its_encoder_and_cache_folders_are_gone(tiny_bert_dir, tmp_path):
    encoder_dir, cache_dir = tmp_path / "work" / "encoder", tmp_path / "work" / "cache"
    shutil.copytree(tiny_bert_dir, encoder_dir)
    model = EmbedHeadClassifier(model=str(encoder_dir), cache_dir=cache_dir).fit(TEXTS, LABELS)
    expected = model.predict_proba(TEXTS)
    model.save(tmp_path / "work" / "store" / "m")
    shutil.copytree(tmp_path / "work" / "store", tmp_path / "other-machine")
    shutil.rmtree(tmp_path / "work")
    back = load_classifier(tmp_path / "other-machine" / "m")
    np.testing.assert_allclose(back.predict_proba(TEXTS), expected, atol=1e-6)
    assert back.cache_dir is None and not (tmp_path / "work").exists()


def test_the_loading_caller_names_this_machines_embedding_cache(tiny_bert_dir, tmp_path):
    EmbedHeadClassifier(model=str(tiny_bert_dir)).fit(TEXTS, LABELS).save(tmp_path / "m")
    for back in (
        load_classifier(tmp_path / "m", cache_dir=tmp_path / "a"),
        EmbedHeadClassifier.load(tmp_path / "m", cache_dir=tmp_path / "b"),
    ):
        back.predict_proba(TEXTS)
    assert (tmp_path / "a" / CACHE_FILE).is_file() and (tmp_path / "b" / CACHE_FILE).is_file()


def test_a_model_saved_with_a_cache_folder_and_an_outside_encoder_path_still_loads(tiny_bert_dir, tmp_path):
    model = EmbedHeadClassifier(model=str(tiny_bert_dir)).fit(TEXTS, LABELS)
    model.save(tmp_path / "m")
    meta_file = tmp_path / "m" / MODEL_FILE
    meta = json.loads(meta_file.read_text())  # rewritten as earlier versions saved it
    del meta["encoder_dir"]
    meta["params"].update(model=str(tiny_bert_dir.resolve()), cache_dir=str(tmp_path / "gone"))
    meta_file.write_text(json.dumps(meta))
    shutil.rmtree(tmp_path / "m" / ENCODER_DIR)
    back = load_classifier(tmp_path / "m")
    assert back.model == str(tiny_bert_dir.resolve()) and back.cache_dir is None
    np.testing.assert_array_equal(back.predict_proba(TEXTS), model.predict_proba(TEXTS))


def test_the_default_encoder_is_saved_by_name_not_by_weights(tiny_bert_dir, tmp_path):
    X = Encoder(model=str(tiny_bert_dir)).encode(TEXTS)
    model = EmbedHeadClassifier(model="default").fit_embeddings(X, LABELS)
    model.save(tmp_path / "m")
    assert json.loads((tmp_path / "m" / MODEL_FILE).read_text())["params"]["model"] == "default"
    assert sum(p.stat().st_size for p in (tmp_path / "m").iterdir()) < 1_000_000


def test_loading_refuses_an_encoder_that_changed_since_fitting(tiny_bert_dir, tmp_path):
    EmbedHeadClassifier(model=str(tiny_bert_dir)).fit(TEXTS, LABELS).save(tmp_path / "m")
    config = tmp_path / "m" / ENCODER_DIR / "config.json"
    changed = config.read_text().replace('"hidden_act": "gelu"', '"hidden_act": "relu"')
    config.unlink()  # the copy may be a hard link to the original: replace the file, never edit it in place
    config.write_text(changed)
    back = load_classifier(tmp_path / "m")
    with pytest.raises(ModelError, match="changed since"):
        back.predict_proba(TEXTS)


def test_saving_a_loaded_model_again_keeps_a_working_encoder_copy(tiny_bert_dir, tmp_path):
    model = EmbedHeadClassifier(model=str(tiny_bert_dir)).fit(TEXTS, LABELS)
    model.save(tmp_path / "m")
    back = load_classifier(tmp_path / "m")
    back.save(tmp_path / "m")  # onto itself: the copy stays
    back.save(tmp_path / "m2")
    shutil.rmtree(tmp_path / "m")
    np.testing.assert_array_equal(load_classifier(tmp_path / "m2").predict_proba(TEXTS), model.predict_proba(TEXTS))
