"""Scored rows for a project's unlabelled tasks under the current model: the worker's side of the one scoring path.

An own version is scored over the whole pool (cached embeddings, every strategy); a base-store model
exactly as /predict scores it (``ml_backend.scoring.predict``); before any model, the pool is only
covered (k-means over the embeddings). In each case the band goes first: the strategy's next picks
with evaluation-slice tasks interleaved (``ml_backend.scoring.ls_score.interleave``). Slice tasks
never carry a guess.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ml_backend.config import DEFAULT_STRATEGY
from ml_backend.labelstudio.predictions import Row
from ml_backend.scoring.clusters import ClusterAssigner
from ml_backend.scoring.ls_score import UNREADABLE, ScoreScale, guesses, interleave
from ml_backend.scoring.pool_ranking import PoolScorer
from ml_backend.scoring.predict import predict, unknown_labels
from ml_backend.state.pool_mirror import PoolTask
from ml_backend.worker.current import Current
from ml_backend.worker.project import Project
from ml_backend.worker.ranked_rows import RankedRows
from ml_backend.worker.timing import Timer
from textal.errors import TextalError
from textal.ranking.scale import Scorer
from textal.strategies import get_strategy
from textal.strategies.selection import select_batch
from textal.training.head_refit import committee_proba

log = logging.getLogger("ml_backend.worker")

COLD_START_STRATEGY = "kmeans"  # coverage of the pool while no model exists
# A base model's first push over a larger pool chooses its head from this many open tasks (a seeded random sample,
# with the slice tasks the band serves first): Label Studio is ordered in seconds, and the fill scores the rest.
HEAD_SAMPLE = 2_000


@dataclass
class Scored:
    """What a refresh pushes: rows for the targeted tasks in push order, the band (task ids, in order), the scale the
    rows were scored under, and the probabilities of every readable task (own versions only)."""

    rows: RankedRows
    band: list[int]
    scale: ScoreScale
    proba: dict[int, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class TargetColumns:
    """An own version's view of the targeted tasks, one entry per task (NaN informativeness: unreadable); ``guess``
    gives the pre-filled labels and their confidence for rows of the pool's readable tasks."""

    ids: np.ndarray
    readable_at: np.ndarray  # the task's row among the readable tasks, -1 when unreadable
    held_out: np.ndarray
    informativeness: np.ndarray
    cluster: np.ndarray
    guess: Callable[[np.ndarray], list[tuple[list[str], float | None]]]

    def rows(self, positions: np.ndarray, scores: np.ndarray) -> list[Row]:
        """The rows of the targets at ``positions`` under ``scores``."""
        at = self.readable_at[positions]
        guessed = iter(self.guess(at[at >= 0]))
        out = []
        for pos, i in zip(positions.tolist(), at.tolist()):
            held = bool(self.held_out[pos])
            if i < 0:
                out.append(Row(int(self.ids[pos]), None, UNREADABLE, None, held))
                continue
            choices, sure = next(guessed)
            inf, cluster = float(self.informativeness[pos]), int(self.cluster[pos])
            out.append(Row(int(self.ids[pos]), choices, float(scores[pos]), cluster, held, None, inf, sure))
        return out


def score_rows(
    project: Project, current: Current | None, only: set[int] | None, timer: Timer, scale: ScoreScale | None = None
) -> Scored:
    """Rows for unlabelled tasks (``only`` these ids, when given: no band). Without ``scale`` (a version's first
    push), the scale is taken from this pool; with it (new tasks, a moved band), the version's scale is kept."""
    tasks = project.mirror.tasks()
    targets = [t for t in tasks if not t.labelled and (only is None or t.id in only)]
    batch = project.settings.batch if only is None else 0
    if current is None:
        return cold_rows(project, tasks, timer)
    if only is not None and scale is None:  # a few tasks alone make no scale: without the version's, none
        scale = ScoreScale()
    if not current.own:
        if only is None and len(targets) > HEAD_SAMPLE:
            targets = head_sample(project, targets)
        rows, picks = base_rows(project, current, targets, batch, timer)
        order = band(project, tasks, picks) if only is None else []
        rows, scale = place(rows, order, scale)
        return Scored(RankedRows.of(rows), order, scale)
    columns, picks, proba = own_rows(project, current, tasks, targets, batch, timer)
    order = band(project, tasks, picks) if only is None else []
    unplaced = np.full(len(columns.ids), UNREADABLE)
    scores, scale = place_scores(columns.ids, columns.informativeness, unplaced, order, scale)
    ranked = RankedRows.by_score(columns.ids, scores, lambda positions: columns.rows(positions, scores))
    return Scored(ranked, order, scale, proba)


def head_sample(project: Project, targets: list[PoolTask]) -> list[PoolTask]:
    """``HEAD_SAMPLE`` of the open ``targets`` (seeded), after the slice tasks the band may interleave first."""
    slice_first = sorted((t for t in targets if t.eval), key=lambda t: _shuffled(t.id))[: 2 * project.settings.batch]
    others = [t for t in targets if not t.eval]
    rng = np.random.default_rng([project.settings.seed, project.id])
    chosen = rng.choice(len(others), size=min(HEAD_SAMPLE, len(others)), replace=False)
    return slice_first + [others[i] for i in sorted(chosen)]


def place(rows: list[Row], order: list[int], scale: ScoreScale | None) -> tuple[list[Row], ScoreScale]:
    """Scores for ``rows`` from their informativeness under ``scale`` (default: this pool's), the band first."""
    ids = np.array([r.task_id for r in rows], dtype=np.int64)
    informativeness = np.array([np.nan if r.informativeness is None else r.informativeness for r in rows])
    unplaced = np.array([r.score for r in rows], dtype=np.float64)
    scores, scale = place_scores(ids, informativeness, unplaced, order, scale)
    return [r if r.score == s else _scored(r, s) for r, s in zip(rows, scores.tolist())], scale


def place_scores(
    task_ids: np.ndarray,
    informativeness: np.ndarray,
    unplaced: np.ndarray,
    order: list[int],
    scale: ScoreScale | None,
) -> tuple[np.ndarray, ScoreScale]:
    """Each task's score: the band's (``order``) first, then by informativeness under ``scale`` (default: this
    pool's); ``unplaced`` for a task with neither (NaN informativeness)."""
    informativeness = np.asarray(informativeness, dtype=np.float64).reshape(-1)
    in_band = np.isin(task_ids, np.asarray(order, dtype=np.int64))
    ranked = ~np.isnan(informativeness) & ~in_band
    if scale is None:
        scale = ScoreScale.from_pool(informativeness[ranked], len(order))
    scores = np.array(unplaced, dtype=np.float64)
    scores[ranked] = scale.scores(informativeness[ranked])
    if order:
        at = dict(zip(order, scale.band_scores(len(order)).tolist()))
        where = np.flatnonzero(in_band)
        scores[where] = [at[i] for i in task_ids[where].tolist()]
    return scores, scale


def _scored(row: Row, score: float) -> Row:
    """``row`` with ``score`` (what ``dataclasses.replace`` does, at a fraction of its cost per row)."""
    return Row(**{**vars(row), "score": score})


def band(project: Project, tasks: list[PoolTask], picks: list[int]) -> list[int]:
    """Task ids of the band: ``picks`` (ids, best first) with open slice tasks interleaved."""
    labelled = [t for t in tasks if t.labelled]
    picks = random_share_first(project, picks, len(labelled))
    open_slice = sorted((t.id for t in tasks if t.eval and not t.labelled and t.text is not None), key=_shuffled)
    return interleave(picks, open_slice, len(labelled), sum(t.eval for t in labelled), project.settings.eval_every)


def random_share_first(project: Project, picks: list[int], labelled: int) -> list[int]:
    """``picks`` with one of the strategy's random picks (the last ones ``select_batch`` returns) moved to the
    front once in every 1/random_fraction labels: a band placed again after every label would otherwise
    never serve them."""
    fraction = float(getattr(get_strategy(project.strategy), "random_fraction", 0.0) or 0.0)
    n_random = int(len(picks) * fraction)
    if not n_random or labelled % max(round(1 / fraction), 1) != round(1 / fraction) - 1:
        return picks
    first = picks[-n_random]
    return [first] + [p for p in picks if p != first]


def _shuffled(task_id: int) -> int:
    """A fixed pseudo-random key: the slice is served in an order that does not change between refreshes."""
    return (int(task_id) * 2654435761) % 2**32


def _texts(readable: list[PoolTask]) -> list[str]:
    """The texts of tasks already filtered to the readable ones (each has its text)."""
    return [t.text for t in readable if t.text is not None]


def own_rows(
    project: Project, current: Current, tasks: list[PoolTask], targets: list[PoolTask], batch: int, timer: Timer
) -> tuple[TargetColumns, list[int], dict[int, np.ndarray]]:
    """An own version's view of the ``targets``, scored over the whole pool, the strategy's next ``batch`` (task
    ids), and the probabilities of every readable task."""
    settings = project.settings
    readable = [t for t in tasks if t.text is not None]
    model = current.model
    labels = list(model.labels_)
    texts = _texts(readable)
    encoder = (current.card or {}).get("encoder") or getattr(model, "model", None)
    multi = project.schema.multi_label
    X: np.ndarray
    with timer.phase("score"):
        if not readable:
            X, proba = np.zeros((0, 1), dtype=np.float32), np.zeros((0, len(labels)))
        elif callable(getattr(model, "predict_proba_embeddings", None)) and isinstance(encoder, str):
            X = project.embed(encoder, texts)
            proba = model.predict_proba_embeddings(X)
        else:
            X, proba = np.asarray(model.embed(texts), dtype=np.float32), model.predict_proba(texts)
        labelled = np.array([t.labelled for t in readable], dtype=bool)
        held_out = np.array([t.eval for t in readable], dtype=bool)
        scorer = PoolScorer(project.strategy)
        committee = _committee(project, current, readable, X, labels) if scorer.needs_committee else None
        informativeness, chosen = scorer.score(
            proba=proba,
            embeddings=X,
            texts=texts,
            labelled=labelled,
            held_out=held_out,
            multi_label=multi,
            committee=committee,
            batch=batch,
            seed=settings.seed,
            groups=project.ctx.duplicates.groups(project.id, texts),
        )
        clusters = ClusterAssigner(current.centroids).assign(X) if readable else np.zeros(0, dtype=int)
    row_of = {t.id: i for i, t in enumerate(readable)}
    thresholds = (current.card or {}).get("thresholds") or {}
    at = np.array([row_of.get(t.id, -1) for t in targets], dtype=np.int64)
    known = at >= 0
    informative = np.full(len(targets), np.nan)
    informative[known] = np.asarray(informativeness, dtype=np.float64)[at[known]]
    cluster = np.full(len(targets), -1, dtype=np.int64)
    cluster[known] = np.asarray(clusters, dtype=np.int64)[at[known]]
    margin = settings.prefill_margin
    no_guess = unknown_labels(labels, project.schema.labels)  # the config gained a label the version never learned

    def guess(rows: np.ndarray) -> list[tuple[list[str], float | None]]:
        if no_guess:
            return [([], None) for _ in range(len(rows))]
        return guesses(proba[rows], labels, multi, thresholds, margin)

    columns = TargetColumns(
        np.array([t.id for t in targets], dtype=np.int64),
        at,
        np.array([t.eval for t in targets], dtype=bool),
        informative,
        cluster,
        guess,
    )
    picks = [readable[i].id for i in chosen]
    return columns, picks, {t.id: proba[i] for i, t in enumerate(readable)}


def _committee(
    project: Project, current: Current, readable: list[PoolTask], X: np.ndarray, labels: list[str]
) -> np.ndarray | None:
    """Bootstrap committee probabilities over the pool, fitted on the version's own training labels."""
    train = (current.training or {}).get("train") or {}
    row_of = {t.id: i for i, t in enumerate(readable)}
    ids = [int(k) for k in train if int(k) in row_of]
    if not ids:
        return None
    settings = project.settings
    return committee_proba(
        X[[row_of[i] for i in ids]],
        [as_label(train[str(i)]) for i in ids],
        labels,
        project.schema.multi_label,
        X,
        size=settings.committee_size,
        seed=settings.seed,
    )


def base_rows(
    project: Project, current: Current, targets: list[PoolTask], batch: int, timer: Timer
) -> tuple[list[Row], list[int]]:
    """Rows of a base-store model scored as `textal serve` answers /predict, and the next ``batch`` (task ids) the
    project's strategy picks over the base model's view of the open tasks."""
    assert current.loaded is not None  # a base-store model is served loaded
    strategy = project.strategy
    try:
        scorer = Scorer(strategy).require_per_batch()
    except TextalError:
        log.info(
            "project %s: strategy %s needs the project's own model; the base model is scored by %s",
            project.id,
            strategy,
            DEFAULT_STRATEGY,
        )
        strategy, scorer = DEFAULT_STRATEGY, Scorer(DEFAULT_STRATEGY)
    readable = [t for t in targets if t.text is not None]
    key = project.schema.text_key
    with timer.phase("score"):
        predicted = predict(
            [{"id": t.id, "data": {key: t.text}} for t in readable],
            project.schema,
            current.loaded,
            scorer,
            max_chars=project.settings.max_text_chars,
        )
        row_of = {row.task_id: row for row in predicted.rows}
        rows = [
            replace(row_of[t.id], held_out=t.eval) if t.id in row_of else Row(t.id, None, UNREADABLE, None, t.eval)
            for t in targets
        ]
        picks: list[int] = []
        if batch and len(predicted.readable):
            scored = [readable[i] for i in predicted.readable]
            selection = select_batch(
                get_strategy(strategy),
                batch,
                np.random.default_rng([project.settings.seed, len(targets)]),
                labelled=np.zeros(len(scored), dtype=bool),
                held_out=np.array([t.eval for t in scored], dtype=bool),
                proba=predicted.proba,
                embeddings=predicted.embeddings,
                texts=_texts(scored),
                multi_label=project.schema.multi_label,
            )
            picks = [scored[i].id for i in selection.indices]
    return rows, picks


def cold_rows(project: Project, tasks: list[PoolTask], timer: Timer) -> Scored:
    """Before any model: every open task ordered by coverage (k-means over the pool's embeddings), the band
    (the first batch, with the slice interleaved) first; no guesses."""
    readable = [t for t in tasks if t.text is not None]
    picks: list[int] = []
    coverage: dict[int, float] = {}
    open_pool = [t for t in readable if not t.labelled and not t.eval]
    if open_pool and project.settings.batch:
        with timer.phase("embed pool"):
            X = project.embed(project.encoder, _texts(readable))
        with timer.phase("score"):
            selection = select_batch(
                get_strategy(COLD_START_STRATEGY),
                project.settings.batch,
                np.random.default_rng(project.settings.seed),
                labelled=np.array([t.labelled for t in readable], dtype=bool),
                held_out=np.array([t.eval for t in readable], dtype=bool),
                embeddings=X,
                texts=_texts(readable),
            )
        picks = [readable[i].id for i in selection.indices]
        coverage = {t.id: float(selection.scores[i]) for i, t in enumerate(readable)}
    order = band(project, tasks, picks)
    rows = [
        Row(t.id, None, UNREADABLE, None, t.eval, informativeness=coverage.get(t.id)) for t in tasks if not t.labelled
    ]
    rows, scale = place(rows, order, None)
    return Scored(RankedRows.of(rows), order, scale)


def as_label(value: Any) -> Any:
    """A label read back from JSON: lists (multi-label) become tuples again."""
    return tuple(value) if isinstance(value, list) else value
