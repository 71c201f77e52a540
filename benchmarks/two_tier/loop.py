"""One repeat after another of the two-tier loop on one dataset; writes its rounds as JSON (``run.py`` calls it).

``python -m benchmarks.two_tier.loop FEATURES PLAN OUT FULL_EVERY ENCODER FULL_TIER``. The loop, seed sets, classifier
and measures are the peers' side-by-side's (``benchmarks/peers/protocol.py``), and the strategy is textal's default
through the same adapter; only the features change: every ``FULL_EVERY`` labels the transformer is tuned on every
label (``textal.training.full_tier``, ``FULL_TIER`` contrastive or plain, as the worker does), and from then on the
pool and the test set are embedded by the tuned encoder, for the classifier and for selection alike.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.peers.loop import Textal
from benchmarks.peers.protocol import Task, run
from textal.models.fine_tune_schedule import fine_tune_due
from textal.strategies import DEFAULT_STRATEGY
from textal.training.full_tier import tune_encoder, tuning_summary


class TwoTier(Textal):
    """textal's default strategy over whichever encoder the worker would be serving."""

    def __init__(
        self,
        task: Task,
        texts: list[str],
        test_texts: list[str],
        classes: list[str],
        full_every: int,
        encoder: str,
        full_tier: str,
    ) -> None:
        super().__init__(task, DEFAULT_STRATEGY, texts)
        self.frozen, self.texts, self.test_texts, self.classes = task, texts, test_texts, classes
        self.full_every, self.encoder, self.full_tier = full_every, encoder, full_tier
        self.fine_tunes: list[dict] = []

    def start(self, repeat: int) -> None:
        """A new repeat starts on the frozen encoder."""
        self.task, self.last, self.repeat = self.frozen, 0, repeat

    def fit(self, labelled: np.ndarray) -> None:
        if fine_tune_due(len(labelled), self.last, self.full_every):
            self._fine_tune(labelled)
        super().fit(labelled)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.model.predict(self.task.X_test)  # the test set as the serving encoder embeds it

    def _fine_tune(self, labelled: np.ndarray) -> None:
        from textal.models.encoder import Encoder

        start = time.perf_counter()
        model = tune_encoder(
            [self.texts[i] for i in labelled],
            [self.classes[c] for c in self.task.y[labelled]],
            self.classes,
            False,
            full_tier=self.full_tier,
            encoder=self.encoder,
            seed=self.repeat,
        )
        with tempfile.TemporaryDirectory(prefix="two-tier-") as folder:
            model.save(folder)
            encode = Encoder(model=folder).encode  # the worker's path: the saved model read back as an encoder
            X, X_test = encode(self.texts), encode(self.test_texts)
        # No evaluation slice in the peers' protocol: by the worker's promotion rule the version trained on
        # at least as many labels serves, so every fine-tune is adopted.
        self.task = dataclasses.replace(self.frozen, X=X, X_test=X_test)
        self.last = len(labelled)
        self.fine_tunes.append(
            {
                "repeat": self.repeat,
                "labels": int(len(labelled)),
                "seconds": round(time.perf_counter() - start, 1),
                **tuning_summary(model),
            }
        )


def main(argv: list[str]) -> None:
    features, plan, out, full_every, encoder, full_tier = argv
    task = Task.load(features, plan)
    data = np.load(features)
    texts = json.loads(Path(features).with_suffix(".texts.json").read_text())
    test_texts = json.loads(Path(features).with_suffix(".test-texts.json").read_text())
    learner = TwoTier(task, texts, test_texts, [str(c) for c in data["classes"]], int(full_every), encoder, full_tier)
    repeats = []
    for r in range(len(task.seeds)):
        start = time.perf_counter()
        learner.start(r)
        rounds = run(learner, task, r)
        repeats.append({"rounds": rounds, "seconds": round(time.perf_counter() - start, 2)})
        print(
            f"two-tier repeat {r + 1}/{len(task.seeds)}: AUC {np.mean([x['f1'] for x in rounds]):.4f} "
            f"in {repeats[-1]['seconds']:.0f} s",
            flush=True,
        )
    Path(out).write_text(
        json.dumps(
            {
                "tool": "textal two-tier",
                "strategy": DEFAULT_STRATEGY,
                "full_every": int(full_every),
                "full_tier": full_tier,
                "repeats": repeats,
                "fine_tunes": learner.fine_tunes,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
