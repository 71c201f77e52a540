"""A pool file scored chunk by chunk and ranked without holding it in memory (``textal score``).

Each chunk of texts is predicted, scored and appended to an Arrow IPC file (row, text, guess,
probabilities) in a scratch folder, then dropped. The ranking reads that file back through a memory
map, so peak memory is the model plus one chunk, plus some 8-byte figures per text (score, order,
near-duplicate key). Strategies that read only each text's probabilities are scored chunk by chunk;
those that need the pool's embeddings get them from a numpy memmap filled chunk by chunk, and read it
whole.

The order follows the strategy's batch rules, as the worker's label stream does: the strategy's next
``batch`` first (one text per near-duplicate group; a batch strategy such as hybrid picks it its own
way), then every other text by informativeness, a text whose near-duplicate ranks higher after all
the texts that have none.
"""

from __future__ import annotations

import csv
import hashlib
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc

from textal.data.corpus import DEFAULT_CHUNK, normalise_text, text_chunks
from textal.models.classifier import Classifier
from textal.ranking.scale import Scorer
from textal.runtime import progress
from textal.strategies import get_strategy
from textal.strategies.selection import select_batch

_TABLE = "pool.arrow"
_SCORES = "scores.npy"
_KEYS = "keys.npy"
_PROBA = "proba.f32"
_EMBEDDINGS = "embeddings.f32"


def label_text(label: str | tuple[str, ...]) -> str:
    """A predicted label as one string; a multi-label guess is its labels joined by ``|``."""
    return "|".join(label) if isinstance(label, tuple) else str(label)


@dataclass(frozen=True)
class RankedText:
    """One text of the pool with the model's guess and its informativeness."""

    rank: int
    row: int
    text: str
    guess: str
    proba: np.ndarray
    score: float
    duplicate_of: int | None = None  # the row of a near-duplicate ranked higher


class RankedPool:
    """A scored pool on disk; ``order`` lists its items most informative first. Close it (or use ``with``)
    to delete the scratch folder."""

    def __init__(
        self,
        folder: Path,
        scores: np.ndarray,
        labels: list[str],
        strategy: str,
        groups: np.ndarray | None = None,
        batch: np.ndarray | None = None,
    ) -> None:
        """``groups``: each text's near-duplicate group (the pool index of its first text); ``batch``: the
        strategy's next batch, ranked first in its order."""
        self.folder = folder
        self._source = pa.memory_map(str(folder / _TABLE))
        self.table = ipc.open_file(self._source).read_all()  # zero-copy over the map
        self.scores = scores
        self.groups = np.arange(len(scores)) if groups is None else np.asarray(groups, dtype=np.int64)
        self.order, self.duplicate_of = ranked_order(scores, self.groups, batch)
        self.labels = labels
        self.strategy = strategy

    def __len__(self) -> int:
        return len(self.scores)

    def ranked(self, first: int = 0, stop: int | None = None, block: int = DEFAULT_CHUNK) -> Iterator[RankedText]:
        """The items ranked ``first`` (0-based) up to ``stop``, most informative first, read a block at a time."""
        stop = len(self) if stop is None else min(stop, len(self))
        k = len(self.labels)
        for start in range(first, stop, block):
            idx = self.order[start : min(stop, start + block)]
            part = self.table.take(pa.array(idx))
            rows, texts, guesses = (part.column(c).to_pylist() for c in ("row", "text", "guess"))
            proba = part.column("proba").combine_chunks().flatten().to_numpy().reshape(-1, k)
            dup_of = self.duplicate_of[idx]
            first_rows = self.table.take(pa.array(np.maximum(dup_of, 0))).column("row").to_pylist()
            for j, i in enumerate(idx):
                yield RankedText(
                    start + j + 1,
                    rows[j],
                    texts[j],
                    guesses[j],
                    proba[j],
                    float(self.scores[i]),
                    first_rows[j] if dup_of[j] >= 0 else None,
                )

    def write_csv(self, path: Path) -> None:
        """Every item, ranked, to ``path``: rank, row, text, guess, score, the row of a near-duplicate ranked
        higher (blank when none), one probability per label."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(
                [
                    "rank",
                    "row",
                    "text",
                    "predicted",
                    self.strategy,
                    "duplicate_of",
                    *[f"p_{lab}" for lab in self.labels],
                ]
            )
            for item in self.ranked():
                writer.writerow(
                    [
                        item.rank,
                        item.row,
                        item.text,
                        item.guess,
                        f"{item.score:.6f}",
                        "" if item.duplicate_of is None else item.duplicate_of,
                        *[f"{p:.6f}" for p in item.proba],
                    ]
                )

    def close(self) -> None:
        """Unmap the files and delete the scratch folder."""
        self.table = None
        self.scores = self.order = None  # type: ignore[assignment]
        self._source.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> RankedPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def ranking_scorer(strategy: str) -> Scorer:
    """``strategy`` as ``textal score`` ranks by it: its batch without a random share (a ranking names the
    most informative texts), from one pool of texts alone."""
    return Scorer(strategy, get_strategy(strategy, random_fraction=0.0)).require_per_batch()


def rank_chunks(
    model: Classifier,
    chunks: Iterable[tuple[list[int], list[str]]],
    strategy: str,
    scratch: str | Path | None = None,
    batch: int = 0,
    trained_on: int | None = None,
) -> RankedPool:
    """Score ``chunks`` of (rows, texts) with ``model`` and rank them by ``strategy``, its next ``batch`` first
    (``trained_on``: the labels the model learned from); files go in a new folder under ``scratch`` (the
    system's temporary folder by default)."""
    scorer = ranking_scorer(strategy)
    folder = Path(tempfile.mkdtemp(prefix="textal-score-", dir=scratch))
    try:
        scores = _score_into(folder, model, chunks, scorer)
        return _ranked(
            folder, scorer, list(model.labels_), model.multi_label_, scores, np.load(folder / _KEYS), batch, trained_on
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def rank_file(
    model: Classifier,
    path: str | Path,
    strategy: str,
    text_col: str | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    scratch: str | Path | None = None,
    batch: int = 0,
    trained_on: int | None = None,
) -> RankedPool:
    """Score every text of the file ``path`` and rank them, reading it ``chunk_size`` texts at a time."""
    return rank_chunks(model, text_chunks(path, text_col, chunk_size), strategy, scratch, batch, trained_on)


def score_shard(model: Classifier, chunks: Iterable[tuple[list[int], list[str]]], strategy: str, folder: Path) -> None:
    """Score ``chunks`` into ``folder`` for :func:`merge_shards` to rank with other shards: one process's part
    of a pool scored by several. Per-item scores are written; a strategy that compares texts across the pool
    leaves its probabilities and embeddings for the merge to score whole."""
    scorer = ranking_scorer(strategy)
    folder.mkdir(parents=True, exist_ok=True)
    scores = _score_into(folder, model, chunks, scorer)
    if scores is not None:
        np.save(folder / _SCORES, scores)


def merge_shards(
    folder: Path,
    shards: list[Path],
    labels: list[str],
    strategy: str,
    multi_label: bool = False,
    batch: int = 0,
    trained_on: int | None = None,
) -> RankedPool:
    """The shards' texts, back in pool order, as one pool ranked in ``folder`` (its next ``batch`` first);
    the shard folders are deleted."""
    scorer = ranking_scorer(strategy)
    sources = [pa.memory_map(str(shard / _TABLE)) for shard in shards]
    try:
        table = pa.concat_tables([ipc.open_file(source).read_all() for source in sources])
        by_row = np.argsort(table.column("row").to_numpy(), kind="stable")
        with ipc.new_file(str(folder / _TABLE), table.schema) as writer:
            for start in range(0, len(by_row), DEFAULT_CHUNK):
                writer.write_table(table.take(pa.array(by_row[start : start + DEFAULT_CHUNK])))
        table = None
    finally:
        for source in sources:
            source.close()
    keys = np.concatenate([np.load(shard / _KEYS) for shard in shards])[by_row]
    scores = None
    if scorer.per_item:
        scores = np.concatenate([np.load(shard / _SCORES) for shard in shards])[by_row]
    else:
        for name in (_PROBA, _EMBEDDINGS):
            _merge_rows(folder / name, [shard / name for shard in shards], by_row)
    for shard in shards:
        shutil.rmtree(shard, ignore_errors=True)
    return _ranked(folder, scorer, labels, multi_label, scores, keys, batch, trained_on)


def _merge_rows(target: Path, parts: list[Path], by_row: np.ndarray) -> None:
    """The float32 rows of ``parts`` (one after the other), in the order ``by_row``, into ``target``, a chunk
    at a time: memory stays bounded by the chunk, not the pool."""
    n = len(by_row)
    sizes = [part.stat().st_size // 4 for part in parts]
    with open(target, "wb") as out_file:
        if not n or not sum(sizes):
            return
        width = sum(sizes) // n
        maps = [
            np.memmap(part, dtype=np.float32, mode="r").reshape(-1, width) if size else np.zeros((0, width))
            for part, size in zip(parts, sizes)
        ]
        offsets = np.cumsum([0, *[len(m) for m in maps]])
        for start in range(0, n, DEFAULT_CHUNK):
            idx = by_row[start : start + DEFAULT_CHUNK]
            shard = np.searchsorted(offsets, idx, side="right") - 1
            out = np.empty((len(idx), width), dtype=np.float32)
            for s in np.unique(shard):
                mine = shard == s
                out[mine] = maps[s][idx[mine] - offsets[s]]
            out_file.write(out.tobytes())


def _ranked(
    folder: Path,
    scorer: Scorer,
    labels: list[str],
    multi_label: bool,
    scores: np.ndarray | None,
    keys: np.ndarray,
    batch: int,
    trained_on: int | None = None,
) -> RankedPool:
    """The pool in ``folder`` ranked: per-item ``scores``, or the strategy over the whole pool from its files."""
    groups = duplicate_groups_of_keys(keys)
    chosen = None
    if scores is None:  # strategies that compare texts with each other read the whole pool, from the memory maps
        proba, vectors = _pool_arrays(folder, len(keys), len(labels))
        texts = None
        if "texts" in scorer.needs:
            with pa.memory_map(str(folder / _TABLE)) as source:
                texts = ipc.open_file(source).read_all().column("text").to_pylist()
        if batch > 0 and len(keys):  # the selection scores the pool too: scaled as the worker scales them
            selection = select_batch(
                scorer.strategy,
                min(batch, len(keys)),
                np.random.default_rng(0),
                labelled=np.zeros(len(keys), dtype=bool),
                proba=proba,
                embeddings=vectors,
                texts=texts,
                groups=groups,
                multi_label=multi_label,
                trained_on=trained_on,
            )
            chosen, scores = selection.indices, scorer.scale(selection.scores, len(labels), multi_label)
        else:
            scores = scorer.informativeness(proba, multi_label, embeddings=vectors, texts=texts)
    return RankedPool(folder, np.asarray(scores), labels, scorer.name, groups, chosen)


def _pool_arrays(folder: Path, n: int, k: int) -> tuple[np.ndarray, np.ndarray | None]:
    """The pool's probabilities (n, k) and embeddings (n, d) or None, memory-mapped from ``folder``."""
    if not n:
        return np.zeros((0, k), dtype=np.float32), None
    proba = np.memmap(folder / _PROBA, dtype=np.float32, mode="r").reshape(n, k)
    vectors = None
    if (folder / _EMBEDDINGS).stat().st_size:
        vectors = np.memmap(folder / _EMBEDDINGS, dtype=np.float32, mode="r").reshape(n, -1)
    return proba, vectors


def _score_into(
    folder: Path, model: Classifier, chunks: Iterable[tuple[list[int], list[str]]], scorer: Scorer
) -> np.ndarray | None:
    """Write ``chunks``' table and near-duplicate keys into ``folder``; the per-item scores, or None where the
    strategy reads the whole pool (its probabilities and embeddings are then written for it)."""
    k = len(model.labels_)
    schema = pa.schema(
        [("row", pa.int64()), ("text", pa.large_string()), ("guess", pa.string()), ("proba", pa.list_(pa.float32(), k))]
    )
    per_item = scorer.per_item
    scores: list[np.ndarray] = []
    keys: list[np.ndarray] = []
    with (
        progress.task("Scoring texts") as bar,
        ipc.new_file(str(folder / _TABLE), schema) as writer,
        open(folder / _EMBEDDINGS, "wb") as emb_out,
        open(folder / _PROBA, "wb") as proba_out,
    ):
        for rows, texts in chunks:
            with progress.reporting(progress.QUIET):  # one bar for the whole pool, not one per chunk
                proba = np.asarray(model.predict_proba(texts), dtype=np.float32)
                if per_item:
                    scores.append(scorer.informativeness(proba, model.multi_label_))
                else:
                    proba_out.write(proba.tobytes())
                    if "embeddings" in scorer.needs:
                        emb_out.write(np.asarray(model.embed(texts), dtype=np.float32).tobytes())
            keys.append(near_duplicate_keys(texts))
            guesses = [label_text(g) for g in model.decode(proba)]
            flat = pa.array(proba.reshape(-1), type=pa.float32())
            writer.write_batch(
                pa.record_batch(
                    [
                        pa.array(rows, pa.int64()),
                        pa.array(texts, pa.large_string()),
                        pa.array(guesses, pa.string()),
                        pa.FixedSizeListArray.from_arrays(flat, k),
                    ],
                    schema=schema,
                )
            )
            bar.advance(len(texts))
    np.save(folder / _KEYS, np.concatenate(keys) if keys else np.zeros(0, dtype=np.uint64))
    if not per_item:
        return None
    return np.concatenate(scores) if scores else np.zeros(0)


def near_duplicate_keys(texts: Iterable[str]) -> np.ndarray:
    """A 64-bit key per text, equal for near-duplicates (``textal.data.corpus.normalise_text``)."""
    return np.array(
        [
            int.from_bytes(hashlib.blake2b(normalise_text(t).encode("utf-8"), digest_size=8).digest(), "little")
            for t in texts
        ],
        dtype=np.uint64,
    )


def duplicate_groups_of_keys(keys: np.ndarray) -> np.ndarray:
    """For each text, the pool index of the first text sharing its key (itself when it is the first)."""
    keys = np.asarray(keys)
    if not len(keys):
        return np.zeros(0, dtype=np.int64)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return first[inverse.reshape(-1)].astype(np.int64)


def ranked_order(
    scores: np.ndarray, groups: np.ndarray, batch: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(pool indices, best first; per index, the pool index of a near-duplicate ranked before it or -1).

    ``batch`` first in its order, then the rest by score (ties in pool order) with every text whose group
    already appeared moved after those whose group had not."""
    scores = np.asarray(scores, dtype=np.float64)
    n = len(scores)
    batch = np.zeros(0, dtype=np.int64) if batch is None else np.asarray(batch, dtype=np.int64)
    by_score = np.lexsort((np.arange(n), -scores))  # stable: ties keep pool order
    rest = by_score[~np.isin(by_score, batch)]
    sequence = np.concatenate([batch, rest])
    # the first index of each group along this sequence is the group's representative
    _, first_pos = np.unique(groups[sequence], return_index=True)
    leader_of_group = np.full(n, -1, dtype=np.int64)  # group ids are pool indices
    leader_of_group[groups[sequence[first_pos]]] = sequence[first_pos]
    is_first = np.zeros(len(sequence), dtype=bool)
    is_first[first_pos] = True
    repeats = sequence[~is_first]
    leader = np.full(n, -1, dtype=np.int64)
    leader[repeats] = leader_of_group[groups[repeats]]
    return np.concatenate([sequence[is_first], repeats]), leader
