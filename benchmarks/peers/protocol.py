"""What every tool in the side-by-side shares: the classifier, the loop, the measures (numpy and scikit-learn only).

This file runs both in textal's environment and in the peers' own virtualenv, so it imports neither
textal nor a peer. A tool plugs in through ``Learner``: fit on the labelled rows, predict the test
set, and choose the next rows with its own strategy. Seed sets, the evaluation slice, the random
share and the budget are the loop's, the same for every tool.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

# The two protocols of the issue: the peers' own (per dataset size), and the practitioner's.
PROTOCOLS = {
    "peers": {"random_fraction": 0.0, "eval_fraction": 0.0},
    "practice": {"random_fraction": 0.1, "eval_fraction": 0.1},
}
SIZES = {  # (seed, batch, budget) per protocol and dataset
    ("peers", "sms_spam"): (25, 25, 1000),
    ("peers", "sst2"): (25, 25, 1000),
    ("peers", "banking77"): (100, 100, 3000),
    ("peers", "clinc150"): (100, 100, 3000),
    ("practice", "sms_spam"): (200, 200, 1000),
    ("practice", "sst2"): (200, 200, 1000),
    ("practice", "banking77"): (200, 200, 3000),
    ("practice", "clinc150"): (200, 200, 3000),
}
RARE_CLASSES = 30  # macro-F1 on the rarest classes of the pool, where the pool has many classes


def classifier() -> LogisticRegression:
    """The one classifier every tool refits each round."""
    return LogisticRegression(C=10.0, max_iter=1000, random_state=0)


@dataclass
class Task:
    """One dataset under one protocol: features, labels, and per repeat the seed set and evaluation slice."""

    X: np.ndarray
    y: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    rare: np.ndarray  # class ids of the rarest classes (empty when the pool has few classes)
    seeds: list[np.ndarray]
    held_out: list[np.ndarray]
    batch: int
    budget: int
    random_fraction: float

    @classmethod
    def load(cls, features: str, plan: str) -> Task:
        data, seeds = np.load(features), np.load(plan)
        repeats = int(seeds["repeats"])
        return cls(
            data["X"],
            data["y"],
            data["X_test"],
            data["y_test"],
            int(data["n_classes"]),
            data["rare"],
            [seeds[f"seed_{r}"] for r in range(repeats)],
            [seeds[f"held_{r}"] for r in range(repeats)],
            int(seeds["batch"]),
            int(seeds["budget"]),
            float(seeds["random_fraction"]),
        )


class Learner(Protocol):
    """One tool's side of the loop."""

    def fit(self, labelled: np.ndarray) -> None: ...

    def predict(self, X: np.ndarray) -> np.ndarray: ...

    def query(self, labelled: np.ndarray, candidates: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray: ...


def plan(y: np.ndarray, seed_size: int, eval_fraction: float, repeats: int, seed: int = 0) -> tuple[list, list]:
    """Per repeat: a random seed set holding at least two classes (a classifier needs two) and a random
    evaluation slice (never trained on, never asked), disjoint."""
    seeds, held = [], []
    for r in range(repeats):
        rng = np.random.default_rng(seed + 1000 * r)
        order = rng.permutation(len(y))
        n_held = int(round(eval_fraction * len(y)))
        while len(np.unique(y[order[n_held : n_held + seed_size]])) < 2:
            order[n_held:] = rng.permutation(order[n_held:])
        held.append(np.sort(order[:n_held]))
        seeds.append(order[n_held : n_held + seed_size])
    return seeds, held


def run(learner: Learner, task: Task, repeat: int) -> list[dict]:
    """One repeat of the loop: refit, measure on the test set, ask the next batch, up to the budget."""
    rng = np.random.default_rng(7919 * (repeat + 1))
    labelled = np.asarray(task.seeds[repeat], dtype=np.int64)
    open_ = np.ones(len(task.y), dtype=bool)
    open_[task.held_out[repeat]] = False
    open_[labelled] = False
    rounds: list[dict] = []
    select_s = 0.0
    while True:
        learner.fit(labelled)
        pred = learner.predict(task.X_test)
        rounds.append(measure(task, labelled, pred, select_s))
        if len(labelled) >= task.budget or not open_.any():
            return rounds
        n = min(task.batch, task.budget - len(labelled), int(open_.sum()))
        n_random = int(n * task.random_fraction)
        start = time.perf_counter()
        chosen = np.asarray(learner.query(labelled, np.flatnonzero(open_), n - n_random, rng), dtype=np.int64)
        select_s = time.perf_counter() - start
        if len(np.unique(chosen)) != len(chosen) or not open_[chosen].all():
            raise RuntimeError("a strategy asked for a row twice, or one that is labelled or held out")
        open_[chosen] = False
        if n_random:
            extra = rng.choice(np.flatnonzero(open_), size=min(n_random, int(open_.sum())), replace=False)
            open_[extra] = False
            chosen = np.concatenate([chosen, extra])
        labelled = np.concatenate([labelled, chosen])


def measure(task: Task, labelled: np.ndarray, pred: np.ndarray, select_s: float) -> dict:
    """One round's figures: labels, test macro-F1, macro-F1 on the rare classes, classes seen so far."""
    row = {
        "labels": int(len(labelled)),
        "f1": float(f1_score(task.y_test, pred, average="macro")),
        "seen": int(len(np.unique(task.y[labelled]))),
        "select_s": round(select_s, 4),
    }
    if len(task.rare):
        row["f1_rare"] = float(f1_score(task.y_test, pred, labels=task.rare, average="macro", zero_division=0))
    return row


def probabilities(model: LogisticRegression, X: np.ndarray, n_classes: int) -> np.ndarray:
    """(n, n_classes) probabilities, zero for the classes the model has not seen yet."""
    out = np.zeros((len(X), n_classes))
    out[:, model.classes_] = model.predict_proba(X)
    return out


def rarest(y: np.ndarray, n_classes: int, k: int = RARE_CLASSES) -> np.ndarray:
    """The ``k`` rarest classes of ``y`` (ties by class id), or none where there are fewer than 2k classes."""
    if n_classes < 2 * k:
        return np.zeros(0, dtype=np.int64)
    counts = np.bincount(y, minlength=n_classes)
    return np.lexsort((np.arange(n_classes), counts))[:k].astype(np.int64)
