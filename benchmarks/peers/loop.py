"""Run one tool's strategy over every repeat of one dataset and protocol; write its rounds as JSON.

``python -m benchmarks.peers.loop TOOL STRATEGY FEATURES PLAN OUT`` (the repository root on PYTHONPATH): TOOL is
``textal`` (run with textal's interpreter) or ``small-text`` / ``modal`` (run with the peers' virtualenv). Each adapter
drives its tool the way its documentation does, on the shared classifier of ``protocol.py``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.peers.protocol import Task, classifier, probabilities, run


class Baseline:
    """Fits the shared classifier; ``query`` is the strategy's."""

    def __init__(self, task: Task) -> None:
        self.task = task
        self.model = None

    def fit(self, labelled: np.ndarray) -> None:
        self.model = classifier().fit(self.task.X[labelled], self.task.y[labelled])

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.model.predict(X)


class Random(Baseline):
    """Uniform picks: the baseline every tool has."""

    def query(self, labelled, candidates, n, rng):
        return rng.choice(candidates, size=n, replace=False)


class Textal(Baseline):
    """A textal strategy through ``textal.strategies.selection.select_batch``, as the worker and ``textal simulate``
    call it."""

    def __init__(self, task: Task, name: str, texts: list[str] | None) -> None:
        super().__init__(task)
        from textal.data.corpus import duplicate_groups
        from textal.strategies import get_strategy

        self.strategy = get_strategy(name, random_fraction=0.0)  # the loop adds the protocol's random share
        self.groups = None if texts is None else np.asarray(duplicate_groups(texts, near=True))

    def query(self, labelled, candidates, n, rng):
        from textal.strategies.selection import select_batch

        mask = np.zeros(len(self.task.y), dtype=bool)
        mask[labelled] = True
        held = ~mask
        held[candidates] = False
        proba = probabilities(self.model, self.task.X, self.task.n_classes)
        return select_batch(
            self.strategy, n, rng, labelled=mask, held_out=held, proba=proba, embeddings=self.task.X, groups=self.groups
        ).indices


class SmallText(Baseline):
    """A small-text query strategy over its ``SklearnClassifier`` and ``SklearnDataset``."""

    def __init__(self, task: Task, name: str) -> None:
        super().__init__(task)
        import small_text

        self.small_text = small_text
        self.strategy = getattr(small_text, name)()
        self.dataset = small_text.SklearnDataset(task.X, task.y, target_labels=np.arange(task.n_classes))
        self.embedding_based = isinstance(self.strategy, small_text.EmbeddingBasedQueryStrategy)

    def fit(self, labelled):
        self.wrapper = self.small_text.SklearnClassifier(classifier(), self.task.n_classes)
        self.wrapper.fit(self.dataset[labelled])
        self.model = self.wrapper.model

    def query(self, labelled, candidates, n, rng):
        extra = {}
        if self.embedding_based:  # the sentence embeddings; small-text's SklearnClassifier has no embed()
            extra = {"embeddings": self.task.X[np.concatenate([candidates, labelled])], "pbar": None}
        picked = self.strategy.query(
            self.wrapper, self.dataset, candidates, labelled, self.task.y[labelled], n=n, **extra
        )
        return np.asarray(picked)


class ModAL(Baseline):
    """A modAL query strategy over its ``ActiveLearner`` (which fits the shared classifier on construction)."""

    def __init__(self, task: Task, name: str) -> None:
        super().__init__(task)
        import modAL.batch
        import modAL.uncertainty

        self.strategy = getattr(modAL.uncertainty, name, None) or getattr(modAL.batch, name)

    def fit(self, labelled):
        from modAL.models import ActiveLearner

        self.learner = ActiveLearner(
            estimator=classifier(), X_training=self.task.X[labelled], y_training=self.task.y[labelled]
        )
        self.model = self.learner.estimator

    def query(self, labelled, candidates, n, rng):
        local = self.strategy(self.learner, self.task.X[candidates], n_instances=n)
        if isinstance(local, tuple):  # modAL's uncertainty strategies answer (indices, their utility)
            local = local[0]
        return candidates[np.asarray(local, dtype=np.int64).reshape(-1)]


def learner_for(tool: str, strategy: str, task: Task, texts: list[str] | None):
    if strategy == "random":
        return Random(task)
    if tool == "textal":
        return Textal(task, strategy, texts)
    if tool == "small-text":
        return SmallText(task, strategy)
    if tool == "modal":
        return ModAL(task, strategy)
    raise SystemExit(f"unknown tool {tool!r}")


def main(argv: list[str]) -> None:
    tool, strategy, features, plan, out = argv
    task = Task.load(features, plan)
    texts_file = Path(features).with_suffix(".texts.json")
    texts = json.loads(texts_file.read_text()) if tool == "textal" and texts_file.is_file() else None
    learner = learner_for(tool, strategy, task, texts)
    repeats = []
    for r in range(len(task.seeds)):
        start = time.perf_counter()
        rounds = run(learner, task, r)
        repeats.append({"rounds": rounds, "seconds": round(time.perf_counter() - start, 2)})
        print(
            f"{tool} {strategy} repeat {r + 1}/{len(task.seeds)}: AUC "
            f"{np.mean([x['f1'] for x in rounds]):.4f} in {repeats[-1]['seconds']:.0f} s",
            flush=True,
        )
    Path(out).write_text(json.dumps({"tool": tool, "strategy": strategy, "repeats": repeats}))


if __name__ == "__main__":
    main(sys.argv[1:])
