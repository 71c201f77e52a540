"""The loop users get from the worker, as a simulation learner: the fast tier every round, the full tier on schedule.

Every round a logistic head is refitted over the serving encoder's embeddings (the fast tier). When
``full_every`` labels have arrived since the last fine-tune (``textal.models.fine_tune_schedule.fine_tune_due``, the
worker's rule), the transformer is tuned on every label (``full_tier``: contrastive or plain), the pool and test set
are embedded by the tuned encoder, and, if its head does not lose to the serving one on the held-out slice (the worker's
promotion rule), that encoder serves, and selects, from then on. Each curve starts again from the frozen encoder.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from textal.loop.learners import EmbedHeadLearner
from textal.models.fine_tune_schedule import (
    DEFAULT_FULL_EPOCHS,
    DEFAULT_FULL_EVERY,
    DEFAULT_FULL_MIN_STEPS,
    DEFAULT_FULL_TIER,
    fine_tune_due,
)
from textal.models.head import LogisticHead
from textal.models.metrics import score_predictions
from textal.training.full_tier import check_full_tier, tune_encoder, tuning_summary
from textal.training.promotion import net_worse_items, promotion


class TwoTierLearner(EmbedHeadLearner):
    """``EmbedHeadLearner`` over the frozen encoder, swapped for a tuned one every ``full_every`` labels."""

    def __init__(
        self,
        pool_texts: Sequence[str],
        test_texts: Sequence[str],
        pool_embeddings: np.ndarray,
        test_embeddings: np.ndarray,
        labels: Sequence[str],
        multi_label: bool = False,
        seed: int = 0,
        encoder: str = "default",
        class_weight: str | None = None,
        full_every: int = DEFAULT_FULL_EVERY,
        full_epochs: int = DEFAULT_FULL_EPOCHS,
        full_min_steps: int = DEFAULT_FULL_MIN_STEPS,
        full_tier: str = DEFAULT_FULL_TIER,
    ) -> None:
        super().__init__(
            pool_embeddings, test_embeddings, labels, multi_label, seed=seed, encoder=encoder, class_weight=class_weight
        )
        self.pool_texts, self.test_texts = list(pool_texts), list(test_texts)
        self.full_every, self.full_epochs, self.full_min_steps = full_every, full_epochs, full_min_steps
        self.full_tier = check_full_tier(full_tier)
        self._frozen = (self.X_pool, self.X_test)
        self._in_curve = False
        self.fine_tunes: list[dict[str, Any]] = []  # one entry per fine-tune, for the results file

    def start_curve(self, held_out: np.ndarray, held_out_y: np.ndarray, tag: dict[str, Any]) -> None:
        """Back to the frozen encoder; ``held_out`` rows (gold ``held_out_y``) judge the fine-tunes of this curve."""
        self.X_pool, self.X_test = self._frozen
        self.full_tier_labels: int | None = None
        self._labels_at_last = 0
        self._held_out, self._held_out_y, self._tag = np.asarray(held_out), held_out_y, dict(tag)
        self._in_curve = True

    def fit(self, idx: np.ndarray, y: np.ndarray) -> None:
        if self._in_curve and fine_tune_due(len(idx), self._labels_at_last, self.full_every):
            self._full_tier(idx, y)
        super().fit(idx, y)

    def pretrained_embeddings(self) -> np.ndarray:
        return self._frozen[0]

    def _full_tier(self, idx: np.ndarray, y: np.ndarray) -> None:
        from textal.models.encoder import Encoder

        start = time.perf_counter()
        model = tune_encoder(
            [self.pool_texts[i] for i in idx],
            self.decode(y),
            self.labels,
            self.multi_label,
            full_tier=self.full_tier,
            epochs=self.full_epochs,
            min_steps=self.full_min_steps,
            seed=self.seed,
            encoder=self.encoder,
        )
        with tempfile.TemporaryDirectory(prefix="textal-two-tier-") as folder:
            model.save(folder)
            encoder = Encoder(model=folder)  # the worker's path: the saved model read back as an encoder
            X_pool, X_test = encoder.encode(self.pool_texts), encoder.encode(self.test_texts)
        seconds = time.perf_counter() - start
        decision = self._judge(idx, y, X_pool)
        self._labels_at_last = len(idx)
        entry = {
            **self._tag,
            "labels": int(len(idx)),
            "seconds": round(seconds, 1),
            **tuning_summary(model),
            "adopted": decision.promote,
            "reason": decision.reason,
            "eval_macro_f1": decision.value,
            "serving_eval_macro_f1": decision.parent_value,
        }
        self.fine_tunes.append(entry)
        if decision.promote:
            self.X_pool, self.X_test = X_pool, X_test
            self.full_tier_labels = int(len(idx))

    def _judge(self, idx: np.ndarray, y: np.ndarray, X_pool: np.ndarray):
        """The worker's promotion rule: the fine-tuned encoder's head against the serving one, same labels and slice."""
        held = self._held_out
        if len(held) == 0:
            return promotion(None, None)
        gold = self._held_out_y
        heads = [
            LogisticHead(
                C=self.C, class_weight=self.class_weight, random_state=self.seed, n_classes=len(self.labels)
            ).fit(X[idx], y)
            for X in (X_pool, self.X_pool)
        ]
        new, old = heads[0].predict_proba(X_pool[held]), heads[1].predict_proba(self.X_pool[held])
        names = self.decode(gold)
        return promotion(
            {**score_predictions(new, gold, self.multi_label), "n": len(held)},
            {**score_predictions(old, gold, self.multi_label), "n": len(held)},
            worse_items=net_worse_items(new, old, names, self.labels, self.multi_label),
            train_size=len(idx),
            parent_train_size=len(idx),
        )

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "model": "two-tier",
            "full_tier": {
                "every": self.full_every,
                "kind": self.full_tier,
                "epochs": self.full_epochs,
                "min_steps": self.full_min_steps,
                "judged_on": "the held-out slice (--eval-fraction), by the worker's promotion rule",
            },
            "full_data": "the frozen encoder's head on every label",
        }
