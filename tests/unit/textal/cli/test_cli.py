"""The CLI's contract: exit 0 on success, 2 and one readable line on bad input, 1 on internal errors."""

from __future__ import annotations

import pytest

from textal.store.model_store import ModelStore
from textal.strategies import DEFAULT_STRATEGY

ROWS = [
    ("win cash now", "spam"),
    ("free prize, call now", "spam"),
    ("see you soon", "ham"),
    ("lunch at noon?", "ham"),
    ("claim your reward", "spam"),
    ("meeting moved", "ham"),
] * 4


@pytest.fixture
def train_csv(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("text,label\n" + "\n".join(f'"{t}",{lab}' for t, lab in ROWS) + "\n")
    return path


def test_train_linear_publishes_a_version_and_prints_its_name(train_csv, tmp_path, textal_cli):
    code, out, _ = textal_cli(["train", str(train_csv), "--model", "linear", "--store", str(tmp_path / "s")])
    assert code == 0
    assert "Published version v0001" in out
    assert ModelStore(tmp_path / "s").latest() == "v0001"


def test_train_weighs_classes_as_asked_and_by_default_as_the_worker(train_csv, tmp_path, textal_cli):
    from textal.store.model_store import ModelStore as Store

    for option, expected in (([], "balanced"), (["--class-weight", "none"], None)):
        store = tmp_path / f"s{len(option)}"
        code, _, err = textal_cli(["train", str(train_csv), "--model", "linear", "--store", str(store), *option])
        assert code == 0, err
        assert Store(store).load().class_weight == expected


@pytest.mark.parametrize(
    ("option", "line"),
    [
        (
            ["--model", "spacy", "--class-weight", "balanced"],
            "textal: --class-weight applies to linear and embed-head, not spacy",
        ),
        (
            ["--model", "linear", "--class-weight", "heavy"],
            "textal: class weight must be one of balanced, none, not 'heavy'",
        ),
    ],
)
def test_train_refuses_a_class_weight_that_does_not_apply_with_one_line(train_csv, tmp_path, textal_cli, option, line):
    code, _, err = textal_cli(["train", str(train_csv), "--store", str(tmp_path / "s"), *option])
    assert code == 2
    assert err.strip().splitlines() == [line]
    assert not (tmp_path / "s").exists()


def test_train_keeps_its_training_rows_in_the_version_unless_told_not_to(train_csv, tmp_path, textal_cli):
    from textal.store.model_store import MODEL_DIR
    from textal.store.model_store import ModelStore as Store
    from textal.store.training_rows import load_training_rows

    for option, kept in (([], True), (["--no-keep-texts"], False)):
        store = Store(tmp_path / f"s{len(option)}")
        code, _, err = textal_cli(["train", str(train_csv), "--model", "linear", "--store", str(store.root), *option])
        assert code == 0, err
        rows = load_training_rows(store.path(store.latest()) / MODEL_DIR)
        assert (rows is not None) == kept
        card = store.card(store.latest())
        assert ("training_rows" in card) == kept
        if kept:
            assert rows is not None and card["training_rows"]["rows"] == len(rows) == card["training_size"]


def test_missing_data_file_exits_2_with_one_line(tmp_path, textal_cli):
    code, out, err = textal_cli(["train", str(tmp_path / "nope.csv"), "--store", str(tmp_path / "s")])
    assert code == 2
    assert err.strip().splitlines() == [f"textal: {tmp_path / 'nope.csv'}: no such file or directory"]


def test_bad_row_exits_2_naming_the_row(tmp_path, textal_cli):
    path = tmp_path / "d.csv"
    path.write_text('text,label\n"ok",a\n"",b\n')
    code, _, err = textal_cli(["train", str(path), "--model", "linear", "--store", str(tmp_path / "s")])
    assert code == 2 and "row 3" in err and len(err.strip().splitlines()) == 1


def test_bad_option_values_exit_2(train_csv, tmp_path, textal_cli):
    code, _, err = textal_cli(["train", str(train_csv), "--holdout", "1.5", "--store", str(tmp_path / "s")])
    assert code == 2 and "--holdout" in err
    code, _, err = textal_cli(["train", str(train_csv), "--dedupe", "fuzzy", "--store", str(tmp_path / "s")])
    assert code == 2 and "dedupe" in err


def test_unknown_option_is_a_usage_error_with_exit_2(textal_cli):
    code, _, err = textal_cli(["train", "--no-such-option"])
    assert code == 2 and "No such option" in err


def test_versions_of_an_empty_store_exits_2(tmp_path, textal_cli):
    code, _, err = textal_cli(["versions", "--store", str(tmp_path / "empty")])
    assert code == 2 and "no published versions" in err


def test_score_with_no_model_yet_exits_2(train_csv, tmp_path, textal_cli):
    code, _, err = textal_cli(["score", str(train_csv), "--store", str(tmp_path / "empty")])
    assert code == 2 and "no published model yet" in err


def test_internal_error_exits_1_with_one_line_and_no_traceback(train_csv, tmp_path, textal_cli, monkeypatch):
    import textal.training.train_corpus

    def boom(*args, **kwargs):
        raise RuntimeError("something broke")

    monkeypatch.delenv("TEXTAL_DEBUG", raising=False)
    monkeypatch.setattr(textal.training.train_corpus, "train_and_publish", boom)
    code, _, err = textal_cli(["train", str(train_csv), "--model", "linear", "--store", str(tmp_path / "s")])
    assert code == 1
    assert "internal error: RuntimeError: something broke" in err
    assert "Traceback" not in err


def test_train_on_a_single_label_exits_2_with_one_line_and_publishes_nothing(tmp_path, textal_cli):
    path = tmp_path / "ham.csv"
    path.write_text("text,label\n" + "\n".join(f'"{t}",ham' for t, _ in ROWS) + "\n")
    store = tmp_path / "s"
    code, out, err = textal_cli(["train", str(path), "--model", "linear", "--store", str(store)])
    assert code == 2
    # 24 rows, 2 of them held out (--holdout 0.1): 22 left to train on
    assert err.strip().splitlines() == [
        f"textal: {path}: all 22 training labels are 'ham'; at least two labels are needed"
    ]
    assert "Published" not in out
    assert ModelStore(store).versions() == []


def test_train_on_a_single_label_with_eval_file_exits_2_before_fitting(train_csv, tmp_path, textal_cli):
    path = tmp_path / "spam.csv"
    path.write_text('text,label\n"win cash",spam\n"free prize",spam\n')
    code, _, err = textal_cli(
        ["train", str(path), "--eval", str(train_csv), "--model", "linear", "--store", str(tmp_path / "s")]
    )
    assert code == 2
    assert err.strip().splitlines() == [
        f"textal: {path}: all 2 training labels are 'spam'; at least two labels are needed"
    ]
    assert ModelStore(tmp_path / "s").versions() == []


def test_multi_label_train_where_every_text_has_the_same_labels_exits_2_and_publishes_nothing(tmp_path, textal_cli):
    path = tmp_path / "m.csv"
    path.write_text("text,label\n" + "\n".join(f'"{t}",urgent|billing' for t, _ in ROWS) + "\n")
    code, _, err = textal_cli(
        ["train", str(path), "--multi-label", "--model", "linear", "--holdout", "0", "--store", str(tmp_path / "s")]
    )
    assert code == 2
    assert err.strip().splitlines() == [
        f"textal: {path}: all 24 training texts have the same labels 'billing|urgent'; "
        "at least two different label sets are needed"
    ]
    assert ModelStore(tmp_path / "s").versions() == []


def test_multi_label_train_where_one_label_varies_publishes(tmp_path, textal_cli):
    path = tmp_path / "m.csv"
    labels = ["urgent|billing" if lab == "spam" else "billing" for _, lab in ROWS]  # billing on every text
    path.write_text("text,label\n" + "\n".join(f'"{t}",{lab}' for (t, _), lab in zip(ROWS, labels)) + "\n")
    store = tmp_path / "s"
    code, _, err = textal_cli(["train", str(path), "--multi-label", "--model", "linear", "--store", str(store)])
    assert code == 0, err
    assert ModelStore(store).versions() == ["v0001"]


@pytest.mark.timeout(30)
def test_train_on_a_fifo_exits_2_with_one_line(tmp_path, textal_cli):
    import os

    fifo = tmp_path / "train.csv"
    os.mkfifo(fifo)
    code, _, err = textal_cli(["train", str(fifo), "--model", "linear", "--store", str(tmp_path / "s")])
    assert code == 2
    assert err.strip().splitlines() == [f"textal: {fifo}: not a regular file (a FIFO)"]


def test_train_on_a_file_over_the_size_limit_exits_2_with_one_line(train_csv, tmp_path, textal_cli, monkeypatch):
    monkeypatch.setenv("TEXTAL_MAX_INPUT_MB", "0.0001")  # 104 bytes
    code, _, err = textal_cli(["train", str(train_csv), "--model", "linear", "--store", str(tmp_path / "s")])
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"textal: {train_csv}: ") and "TEXTAL_MAX_INPUT_MB" in lines[0]


def test_score_prints_the_most_informative_texts_and_writes_every_text_ranked(train_csv, tmp_path, textal_cli):
    assert textal_cli(["train", str(train_csv), "--model", "linear", "--store", str(tmp_path / "s")])[0] == 0
    code, out, _ = textal_cli(
        ["score", str(train_csv), "--store", str(tmp_path / "s"), "--top-k", "3", "--out", str(tmp_path / "ranked.csv")]
    )
    assert code == 0 and "3 most informative texts" in out and f"Wrote {len(ROWS)} ranked texts" in out
    lines = (tmp_path / "ranked.csv").read_text().splitlines()
    assert (
        lines[0].startswith(f"rank,row,text,predicted,{DEFAULT_STRATEGY},duplicate_of,p_ham,p_spam")
        and len(lines) == len(ROWS) + 1
    )


def test_train_precision_for_a_model_without_a_transformer_or_of_no_kind_exits_2(train_csv, tmp_path, textal_cli):
    store = str(tmp_path / "s")
    code, _, err = textal_cli(["train", str(train_csv), "--model", "linear", "--store", store, "--precision", "bf16"])
    assert code == 2 and err.strip() == "textal: --precision applies to transformer and embed-head, not linear"
    code, _, err = textal_cli(["train", str(train_csv), "--model", "embed-head", "--store", store, "--precision", "x"])
    assert code == 2 and err.strip() == "textal: unknown precision 'x': choose auto, fp32, bf16, int8"


def test_score_precision_on_a_model_without_a_transformer_or_of_no_kind_exits_2(train_csv, tmp_path, textal_cli):
    assert textal_cli(["train", str(train_csv), "--model", "linear", "--store", str(tmp_path / "s")])[0] == 0
    code, _, err = textal_cli(["score", str(train_csv), "--store", str(tmp_path / "s"), "--precision", "int8"])
    assert code == 2 and err.strip() == (
        "textal: --precision applies to transformer models; version v0001 is a linear model"
    )
    code, _, err = textal_cli(["score", str(train_csv), "--store", str(tmp_path / "s"), "--precision", "fp16"])
    assert code == 2 and err.strip() == "textal: unknown precision 'fp16': choose auto, fp32, bf16, int8"


def test_score_with_a_chunk_size_below_one_exits_2(train_csv, tmp_path, textal_cli):
    assert textal_cli(["train", str(train_csv), "--model", "linear", "--store", str(tmp_path / "s")])[0] == 0
    code, _, err = textal_cli(["score", str(train_csv), "--store", str(tmp_path / "s"), "--chunk-size", "0"])
    assert code == 2 and err.strip() == "textal: --chunk-size must be 1 or more"


def test_a_store_an_older_textal_pickled_is_refused_and_converted_only_with_the_trust_flag(
    train_csv, tmp_path, textal_cli
):
    import joblib

    store = tmp_path / "s"
    assert textal_cli(["train", str(train_csv), "--model", "linear", "--store", str(store)])[0] == 0
    model = ModelStore(store).load()
    folder = ModelStore(store).path("v0001") / "model"
    for name in ("linear.json", "linear.npz"):
        (folder / name).unlink()
    joblib.dump(
        {"word": model.word_vec_, "char": model.char_vec_, "head": model.head_, "svd": model.svd_},
        folder / "linear.joblib",
    )

    code, _, err = textal_cli(["score", str(train_csv), "--store", str(store)])
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert err.strip().endswith(f"If you trust this store: textal store convert --trust-pickles {store}")

    code, _, err = textal_cli(["store", "convert", str(store)])
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--trust-pickles" in err
    assert (folder / "linear.joblib").exists()

    code, out, _ = textal_cli(["store", "convert", "--trust-pickles", str(store)])
    assert code == 0 and "v0001: converted model/linear.joblib to data" in out
    assert textal_cli(["score", str(train_csv), "--store", str(store)])[0] == 0
    code, out, _ = textal_cli(["store", "convert", "--trust-pickles", str(store)])
    assert code == 0 and "nothing to convert" in out

    code, _, err = textal_cli(["store", "convert", "--trust-pickles", str(tmp_path / "nope")])
    assert code == 2 and err.strip() == f"textal: {tmp_path / 'nope'}: not a model store (no versions/ folder)"
