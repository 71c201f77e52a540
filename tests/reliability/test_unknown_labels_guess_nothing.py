"""A model never claims certainty over labels it never learned (issue 26, new 3).

A project whose labels share one with the model ("spam") and spell the other so that it only looks like
the model's ("hаm" with a Cyrillic а, a combining accent, a zero-width space, fullwidth "ｈａｍ") used to get
"spam" pre-filled at confidence 1.0 on every task: the probabilities were renormalised over the one shared
label. Now such a project gets no pre-filled choice, one warning in the log, and a line in `textal status`.
"""

from __future__ import annotations

import logging

import pytest

from ml_backend.labelstudio.schema import parse_label_config
from ml_backend.scoring.clusters import ClusterAssigner
from ml_backend.scoring.loaded import LoadedModel
from ml_backend.scoring.predict import predict
from ml_backend.state.projects import ProjectRef, ProjectRegistry
from ml_backend.state.status import project_status
from textal.ranking.scale import Scorer
from textal.runtime import logs
from textal.store.model_store import ModelStore
from textal.strategies import DEFAULT_STRATEGY

LOOK_ALIKES = ["h\u0430m", "ha\u0301m", "h\u200bam", "\uff48\uff41\uff4d"]
TEXTS = ["see you at lunch", "ok going home later", "free prize call now"]


def config(labels: list[str]) -> str:
    choices = "".join(f'<Choice value="{label}"/>' for label in labels)
    return (
        f'<View><Text name="text" value="$text"/><Choices name="label" toName="text" choice="single">{choices}'
        "</Choices></View>"
    )


def loaded(model, tmp_path) -> LoadedModel:
    return LoadedModel(
        version="v0001",
        model_version="base-v0001",
        model=model,
        clusters=ClusterAssigner(),
        card={},
        store_root=tmp_path,
    )


def run(model, tmp_path, labels):
    tasks = [{"id": i, "data": {"text": t}} for i, t in enumerate(TEXTS)]
    return predict(
        tasks, parse_label_config(config(labels)), loaded(model, tmp_path), Scorer(DEFAULT_STRATEGY), max_chars=1000
    )


@pytest.mark.parametrize("other", LOOK_ALIKES, ids=["cyrillic", "combining", "zero-width", "fullwidth"])
def test_a_look_alike_label_set_gets_no_prefilled_choice_and_one_warning(spam_model, tmp_path, caplog, other):
    logs.forget()
    with caplog.at_level(logging.WARNING, logger="ml_backend.scoring"):
        for _ in range(3):  # three requests: one line
            predicted = run(spam_model, tmp_path, ["spam", other])
    assert [(r.choices, r.confidence) for r in predicted.rows] == [(None, None)] * 3
    assert all(r.skipped is None and 0.0 <= r.score for r in predicted.rows)  # still ordered by its uncertainty
    lines = [r.getMessage() for r in caplog.records if "never learned" in r.getMessage()]
    assert len(lines) == 1 and ascii(other) in lines[0]


def test_a_label_set_the_model_knows_still_gets_its_guesses(spam_model, tmp_path):
    predicted = run(spam_model, tmp_path, ["ham", "spam"])
    assert [r.choices for r in predicted.rows] == [["ham"], ["ham"], ["spam"]]


def test_status_says_why_nothing_is_prefilled(spam_model, tmp_path, textal_cli):
    store = tmp_path / "store"
    ModelStore(store).publish(spam_model)
    data = tmp_path / "store-backend"  # the data folder `textal serve --store store` uses
    registry = ProjectRegistry(data)
    registry.setup(
        ProjectRef(7, 1717000000),
        config(["spam", LOOK_ALIKES[0]]),
        hostname="http://127.0.0.1:9",
        access_token="t" * 40,
    )
    status = project_status(data, 7)
    assert status.labels_line() is not None and ascii(LOOK_ALIKES[0]) in status.labels_line()
    code, out, err = textal_cli(["status", "--project", "7", "--data-dir", str(data)])
    assert code == 0, err
    assert "No choice pre-filled" in out and "never learned" in out


def test_status_finds_a_base_store_named_with_store(spam_model, tmp_path, textal_cli):
    ModelStore(tmp_path / "models").publish(spam_model)
    data = tmp_path / "elsewhere"
    ProjectRegistry(data).setup(
        ProjectRef(7, 1717000000),
        config(["spam", LOOK_ALIKES[3]]),
        hostname="http://127.0.0.1:9",
        access_token="t" * 40,
    )
    code, out, _ = textal_cli(["status", "--project", "7", "--data-dir", str(data)])
    assert code == 0 and "No choice pre-filled" not in out  # the base store cannot be told from the data folder
    code, out, err = textal_cli(
        ["status", "--project", "7", "--data-dir", str(data), "--store", str(tmp_path / "models")]
    )
    assert code == 0 and "No choice pre-filled" in out, err
