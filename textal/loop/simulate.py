"""Offline simulation of active learning against gold labels: learning curves and labels saved.

Gold labels play the annotator. For each strategy and repeat: label a seed set, then round after
round fit the model on what is labelled, measure it on the test split, and let the strategy pick
the next batch, until the budget is spent. Every strategy of a repeat starts from the same seed set.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from textal.data.corpus import Corpus, duplicate_groups
from textal.errors import TextalError
from textal.loop.learners import Learner
from textal.loop.simulated_annotators import check_noise, most_confused, panel_votes
from textal.models.metrics import score_predictions
from textal.models.validation import split_validation
from textal.quality import stopping
from textal.quality.annotator_quality import NO_LABEL, annotator_stats, weighted_vote
from textal.quality.label_review import review_labels
from textal.runtime import progress
from textal.strategies import get_strategy, measures, resolve_name
from textal.strategies.registry import StrategyError
from textal.strategies.selection import select_batch


@dataclass
class SimulationSettings:
    """How a simulation runs; recorded with its results so a run can be repeated exactly."""

    strategies: list[str]
    seed_size: int = 50
    batch: int = 50
    budget: int = 1000
    repeats: int = 5
    seed: int = 0
    random_fraction: float | None = None  # None: each strategy's default
    cold_start: str = "random"  # random | coverage (textal's coverage-first k-means)
    eval_fraction: float = 0.0  # slice of the pool held out for the stopping rules' metric
    stop_set_size: int = 1000
    strategy_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    label_noise: float = 0.0  # share of the simulated annotator's answers that are wrong
    noise_kind: str = "uniform"  # uniform | confusable (towards the class the full-data model confuses most)
    review_budget: float = 0.0  # share of the labels the review may re-ask (flagged first), answered right
    review_holdout: bool = False  # flagged labels are kept out of training until re-asked
    annotators: int = 1  # simulated annotators labelling every asked item (Label Studio's overlap)
    poor_annotator: float | None = None  # the first annotator's error rate (the others': label_noise)
    weigh_annotators: bool = False  # resolve votes weighted by each annotator's estimated quality, not by majority
    review_folds: int = 5

    def check(self, pool_size: int) -> None:
        """Reject settings that cannot run, with the reason."""
        if not self.strategies:
            raise TextalError("name at least one strategy")
        for name in self.strategies:
            try:
                resolve_name(name)
            except StrategyError as exc:
                raise TextalError(str(exc)) from None
        if self.seed_size < 1 or self.batch < 1 or self.repeats < 1:
            raise TextalError("seed size, batch and repeats must each be at least 1")
        if self.budget < self.seed_size:
            raise TextalError(f"budget ({self.budget}) is smaller than the seed set ({self.seed_size})")
        if self.budget > pool_size:
            raise TextalError(f"budget ({self.budget}) exceeds the {pool_size} texts of the pool")
        if self.cold_start not in ("random", "coverage"):
            raise TextalError("cold start must be 'random' or 'coverage'")
        if not 0 <= self.eval_fraction < 0.5:
            raise TextalError("the evaluation fraction must be in [0, 0.5)")
        check_noise(
            self.label_noise,
            self.noise_kind,
            self.review_budget,
            self.annotators,
            self.poor_annotator,
            self.weigh_annotators,
        )
        if self.review_folds < 2:
            raise TextalError("the review needs at least 2 folds")

    @property
    def reviews(self) -> bool:
        """Whether the labels are reviewed each round (there is noise to find, or a budget to spend)."""
        return self.label_noise > 0 or self.review_budget > 0 or self.review_holdout or self.annotators > 1


@dataclass
class RoundRecord:
    """One point of one learning curve."""

    strategy: str
    repeat: int
    round: int
    labels: int
    accuracy: float
    macro_f1: float
    eval_macro_f1: float | None
    select_seconds: float
    train_seconds: float
    stop_kappa: float | None
    mean_uncertainty: float
    max_uncertainty: float
    stop_stabilising: bool = False
    stop_uncertainty: bool = False
    stop_max_uncertainty: bool = False
    stop_plateau: bool = False
    wrong_labels: int | None = None  # with noise or review: training labels that are wrong this round
    flagged: int | None = None  # labels the review flags this round
    flag_precision: float | None = None  # flagged labels that are wrong
    flag_recall: float | None = None  # wrong labels that are flagged
    reasked: int = 0  # labels re-asked (and corrected) so far
    annotator_quality: list[float] | None = None  # with --weigh-annotators: each annotator's estimated quality
    tied_labels: int | None = None  # with several annotators: labelled items whose votes tie (left out)
    full_tier_labels: int | None = None  # two-tier: labels of the fine-tuned encoder serving (None: the frozen one)


@dataclass
class SimulationResult:
    """All rounds of all strategies and repeats, plus the full-data reference."""

    settings: SimulationSettings
    full_data: dict[str, float]
    rounds: list[RoundRecord]
    info: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "settings": asdict(self.settings),
            "full_data": self.full_data,
            "info": self.info,
            "rounds": [asdict(r) for r in self.rounds],
        }


def _seed_set(learner: Learner, pool_ids: np.ndarray, size: int, how: str, rng: np.random.Generator) -> np.ndarray:
    """The first labels: a random draw (the usual protocol) or textal's coverage-first cold start."""
    if how == "random":
        return rng.choice(pool_ids, size=size, replace=False)
    outside = np.ones(learner.pool_size, dtype=bool)
    outside[pool_ids] = False
    # A pool with embeddings and no model yet makes any strategy pick coverage-first.
    cold = get_strategy("entropy", random_fraction=0.0)
    return select_batch(
        cold,
        size,
        rng,
        labelled=np.zeros(learner.pool_size, dtype=bool),
        held_out=outside,
        embeddings=learner.pretrained_embeddings(),
    ).indices


def simulate(learner: Learner, train: Corpus, test: Corpus, settings: SimulationSettings) -> SimulationResult:
    """Run every strategy for every repeat; see the module docstring."""
    if train.labels is None or test.labels is None:
        raise TextalError("simulation needs gold labels in both the pool and the test file")
    settings.check(len(train))
    y_pool = learner.encode(train.labels)
    y_test = learner.encode(test.labels)
    groups = np.asarray(duplicate_groups(train.texts))

    # The reference: the same model on every training label.
    start = time.perf_counter()
    learner.fit(np.arange(len(train)), y_pool[np.arange(len(train))])
    full = score_predictions(learner.proba_test(), y_test, learner.multi_label)
    full["train_seconds"] = round(time.perf_counter() - start, 3)
    if settings.reviews and learner.multi_label:
        raise TextalError("--label-noise and --review-budget apply to single-label data")
    noisy = settings.label_noise > 0 or settings.poor_annotator is not None
    confused_with = most_confused(learner.proba_test(), y_test, len(learner.labels)) if noisy else None

    rounds_per_run = 1 + int(np.ceil((settings.budget - settings.seed_size) / settings.batch))
    records: list[RoundRecord] = []
    total = len(settings.strategies) * settings.repeats * rounds_per_run
    with progress.task("Simulating", total=total) as bar:
        for repeat in range(settings.repeats):
            base_rng = np.random.default_rng([settings.seed, repeat])
            held_out = np.zeros(len(train), dtype=bool)
            if settings.eval_fraction > 0:
                strata = y_pool if y_pool.ndim == 1 else y_pool.argmax(axis=1)
                _, eval_idx = split_validation(strata, settings.eval_fraction, settings.seed + repeat)
                held_out[eval_idx] = True
            pool_ids = np.flatnonzero(~held_out)
            seed_ids = _seed_set(learner, pool_ids, settings.seed_size, settings.cold_start, base_rng)
            stop_set = pool_ids[stopping.choose_stop_set(len(pool_ids), settings.stop_set_size, base_rng)]
            votes = panel_votes(
                y_pool,
                len(learner.labels),
                settings.label_noise,
                settings.noise_kind,
                [settings.seed, repeat, 2],
                settings.annotators,
                settings.poor_annotator,
                confused_with,
            )
            for s_index, name in enumerate(settings.strategies):
                params = dict(settings.strategy_params.get(name, {}))
                if settings.random_fraction is not None:
                    params["random_fraction"] = settings.random_fraction
                strategy = get_strategy(name, **params)
                rng = np.random.default_rng([settings.seed, repeat, s_index, 1])
                records.extend(
                    _run_curve(
                        learner,
                        strategy,
                        name,
                        repeat,
                        seed_ids,
                        held_out,
                        stop_set,
                        groups,
                        train,
                        y_pool,
                        votes.copy(),
                        y_test,
                        settings,
                        rng,
                        bar,
                    )
                )
    info = {
        "pool_size": len(train),
        "test_size": len(test),
        "labels": learner.labels,
        "model": learner.describe(),
        "rounds_per_run": rounds_per_run,
        "strategy_versions": {name: resolve_name(name) for name in settings.strategies},
    }
    if learner.fine_tunes:
        info["fine_tunes"] = learner.fine_tunes
    return SimulationResult(settings=settings, full_data=full, rounds=records, info=info)


def _run_curve(
    learner,
    strategy,
    name,
    repeat,
    seed_ids,
    held_out,
    stop_set,
    groups,
    train,
    y_pool,
    votes,
    y_test,
    settings,
    rng,
    bar,
) -> list[RoundRecord]:
    """One learning curve. ``votes`` are the simulated annotators' labels for the pool (gold, or with noise), one
    column per annotator; the model trains on their resolution (a tie sits out), held-out figures use gold."""
    labelled = np.zeros(len(train), dtype=bool)
    labelled[seed_ids] = True
    held_ids = np.flatnonzero(held_out)
    learner.start_curve(held_ids, y_pool[held_ids], {"strategy": name, "repeat": repeat})
    out: list[RoundRecord] = []
    reasked = np.zeros(len(train), dtype=bool)
    held_back = np.zeros(len(train), dtype=bool)  # flagged by the last review and not re-asked (--review-holdout)
    weights = None  # the annotators' estimated quality (--weigh-annotators), from the previous round
    stop_predictions: list[np.ndarray] = []
    eval_history: list[float] = []
    select_seconds = 0.0
    for round_no in range(10**9):
        idx = np.flatnonzero(labelled)
        tied = 0
        if votes.shape[1] == 1:
            answers = votes[:, 0]
        else:  # several annotators (single-label only): a tie between them has no label
            answers = weighted_vote(votes, weights, len(learner.labels))
            tied = int((answers[idx] == NO_LABEL).sum())
            idx = idx[answers[idx] != NO_LABEL]
        fit_idx = idx[~held_back[idx]]
        start = time.perf_counter()
        learner.fit(fit_idx, answers[fit_idx])
        train_seconds = time.perf_counter() - start
        test_scores = score_predictions(learner.proba_test(), y_test, learner.multi_label)
        proba = learner.proba_pool()
        eval_f1 = None
        if held_out.any():
            eval_f1 = score_predictions(proba[held_out], y_pool[held_out], learner.multi_label)["macro_f1"]
            eval_history.append(eval_f1)
        stop_predictions.append(_hard(proba[stop_set], learner.multi_label))
        unlabelled = proba[~labelled & ~held_out]
        stable = stopping.stabilising_predictions(stop_predictions)
        kappas = stable.figures["kappas"]
        unsure = _uncertainty(unlabelled, learner.multi_label)
        # one set of out-of-fold probabilities a round serves the review and the annotators' quality alike
        oof = learner.out_of_fold_proba(idx, answers[idx], settings.review_folds) if settings.reviews else None
        review = _review(oof, idx, answers, votes, y_pool, reasked, held_back, settings) if settings.reviews else {}
        if votes.shape[1] > 1:
            review["tied_labels"] = tied
        if settings.weigh_annotators:
            # every labelled item, ties included (they are the disagreements): out-of-fold probabilities for the
            # items trained on, the model's own for the ties (it never saw them)
            asked = np.flatnonzero(labelled)
            judged = proba[asked].copy()
            judged[np.isin(asked, idx)] = oof
            stats = annotator_stats(votes[asked], judged, [str(j) for j in range(votes.shape[1])])
            quality = {int(st.annotator): st.quality for st in stats}
            weights = np.array([quality.get(j, 1.0) for j in range(votes.shape[1])]) if quality else None
            review["annotator_quality"] = None if weights is None else [round(float(w), 4) for w in weights]
        out.append(
            RoundRecord(
                strategy=name,
                repeat=repeat,
                round=round_no,
                labels=int(labelled.sum()),
                accuracy=test_scores["accuracy"],
                macro_f1=test_scores["macro_f1"],
                eval_macro_f1=eval_f1,
                select_seconds=round(select_seconds, 4),
                train_seconds=round(train_seconds, 4),
                stop_kappa=kappas[-1] if kappas else None,
                mean_uncertainty=float(unsure.mean()) if len(unsure) else 0.0,
                max_uncertainty=float(unsure.max()) if len(unsure) else 0.0,
                stop_stabilising=stable.stop,
                stop_uncertainty=bool(len(unlabelled))
                and stopping.overall_uncertainty(unlabelled, multi_label=learner.multi_label).stop,
                stop_max_uncertainty=bool(len(unlabelled))
                and stopping.max_uncertainty(unlabelled, multi_label=learner.multi_label).stop,
                stop_plateau=bool(eval_history) and stopping.metric_plateau(eval_history).stop,
                full_tier_labels=learner.full_tier_labels,
                **review,
            )
        )
        bar.advance()
        remaining = settings.budget - int(labelled.sum())
        if remaining <= 0:
            return out
        n = min(settings.batch, remaining)
        start = time.perf_counter()
        selection = select_batch(
            strategy,
            n,
            rng,
            labelled=labelled,
            held_out=held_out,
            proba=proba,
            embeddings=learner.embeddings()
            if "embeddings" in strategy.needs or "gradients" in strategy.needs
            else None,
            committee=learner.committee,
            texts=train.texts,
            groups=groups,
            multi_label=learner.multi_label,
        )
        select_seconds = time.perf_counter() - start
        if len(selection.indices) == 0:
            return out
        labelled[selection.indices] = True
    return out


def _review(oof, idx, answers, votes, y_pool, reasked, held_back, settings) -> dict[str, Any]:
    """Review this round's labels: how well the flags find the wrong ones, then re-ask the most suspicious
    flagged labels within the budget (their right answers count from the next round) and, with
    ``review_holdout``, keep the other flagged ones out of the next fit."""
    given = answers[idx]
    verdict = review_labels(oof, given)
    wrong = given != y_pool[idx]
    hits = int((verdict.flagged & wrong).sum())
    allowed = int(settings.review_budget * len(idx)) - int(reasked.sum())
    if allowed > 0:
        ask = [i for i in idx[verdict.order[: int(verdict.flagged.sum())]] if not reasked[i]][:allowed]
        reasked[ask] = True
        votes[ask] = y_pool[ask][:, None]  # the reviewer's answer stands for every annotator
    if settings.review_holdout:
        held_back[:] = False
        held_back[idx[verdict.flagged]] = True
        held_back &= ~reasked
    n_flagged = int(verdict.flagged.sum())
    return {
        "wrong_labels": int(wrong.sum()),
        "flagged": n_flagged,
        "flag_precision": round(hits / n_flagged, 4) if n_flagged else None,
        "flag_recall": round(hits / int(wrong.sum()), 4) if wrong.any() else None,
        "reasked": int(reasked.sum()),
    }


def _hard(proba: np.ndarray, multi_label: bool) -> np.ndarray:
    """Hard predictions of the stop set: label indices, or a 0/1 matrix for multi-label."""
    return (proba >= 0.5).astype(np.int8) if multi_label else proba.argmax(axis=1)


def _uncertainty(proba: np.ndarray, multi_label: bool) -> np.ndarray:
    """Normalised entropy per item (0 = certain, 1 = uniform), the uncertainty stopping rule's input."""
    return measures.entropy(proba, multi_label) if len(proba) else np.zeros(0)


def summarise(
    result: SimulationResult, budgets: Sequence[int] | None = None, targets: Sequence[float] = (0.90, 0.95, 0.98)
) -> dict[str, Any]:
    """Per strategy: AUC, macro-F1 at fixed budgets, labels to reach each target and the saving vs random."""
    from textal.loop.curves import summarise_curves

    return summarise_curves(result, budgets=budgets, targets=targets)
