"""Log lines stay small however long the input and however often it is sent (issue 26, new 4).

1,002 small /predict requests whose tasks lacked a 250,000-character text key wrote 2.1 GB of log at INFO:
each "skipped ... (first reason: ...)" line echoed the key (twice). Here the echoed input is the task's own
data keys, which the skip reason lists. Echoed input is now cut to a short,
fixed length, and a repeated line is written at most once a minute, with a count of those held back.
"""

from __future__ import annotations

import logging

from ml_backend.labelstudio.schema import parse_label_config
from ml_backend.scoring.clusters import ClusterAssigner
from ml_backend.scoring.loaded import LoadedModel
from ml_backend.scoring.predict import predict
from textal.ranking.scale import Scorer
from textal.runtime import logs
from textal.strategies import DEFAULT_STRATEGY

KEY = "k" * 250_000
CONFIG = (
    '<View><Text name="text" value="$text"/><Choices name="label" toName="text" choice="single">'
    '<Choice value="ham"/><Choice value="spam"/></Choices></View>'
)


def test_a_thousand_requests_echoing_a_huge_key_write_a_few_short_lines(spam_model, tmp_path, caplog):
    logs.forget()
    schema = parse_label_config(CONFIG)
    model = LoadedModel(
        version="v0001",
        model_version="v0001",
        model=spam_model,
        clusters=ClusterAssigner(),
        card={},
        store_root=tmp_path,
    )
    scorer = Scorer(DEFAULT_STRATEGY)
    with caplog.at_level(logging.INFO):
        for _ in range(1000):
            predict([{"id": 1, "data": {KEY: 1}}, {"id": 2, "data": {KEY: 2}}], schema, model, scorer, max_chars=1000)
    written = [r.getMessage() for r in caplog.records]
    assert sum(len(line) for line in written) < 2_000, [line[:200] for line in written]
    assert len([line for line in written if "skipped" in line]) == 1


def test_the_next_line_after_a_quiet_spell_counts_those_held_back(caplog):
    logs.forget()
    log = logging.getLogger("textal.test")
    with caplog.at_level(logging.INFO, logger="textal.test"):
        assert logs.limited(log, logging.INFO, "k", "refused %s", "x" * 10_000, every=60)
        for _ in range(5):
            assert not logs.limited(log, logging.INFO, "k", "refused %s", "y", every=60)
        assert logs.limited(log, logging.INFO, "k", "refused %s", "z", every=0)
    first, second = (r.getMessage() for r in caplog.records)
    assert len(first) < logs.ECHO_CHARS + 50 and "10,000 characters" in first
    assert second == "refused z (and 5 more like it in the last 0 s)"
