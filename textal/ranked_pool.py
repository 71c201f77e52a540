"""A pool file scored chunk by chunk and ranked without holding it in memory (``textal score``).

Each chunk of texts is predicted, scored and appended to an Arrow IPC file (row, text, guess,
probabilities) in a scratch folder, then dropped. The ranking reads that file back through a memory
map, so peak memory is the model plus one chunk, plus 8 bytes per text for the scores and 8 for the
order. Strategies that read only each text's probabilities are scored chunk by chunk; those that
need the pool's embeddings get them from a numpy memmap filled chunk by chunk, and read it whole.
"""

from __future__ import annotations

import csv
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc

from textal import progress
from textal.data import DEFAULT_CHUNK, text_chunks
from textal.errors import TextalError
from textal.models.base import Classifier
from textal.scoring import Scorer

_TABLE = "pool.arrow"
_SCORES = "scores.npy"


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


class RankedPool:
    """A scored pool on disk; ``order`` lists its items most informative first. Close it (or use ``with``)
    to delete the scratch folder."""

    def __init__(self, folder: Path, scores: np.ndarray, labels: list[str], strategy: str) -> None:
        self.folder = folder
        self._source = pa.memory_map(str(folder / _TABLE))
        self.table = ipc.open_file(self._source).read_all()  # zero-copy over the map
        self.scores = scores
        self.order = np.lexsort((np.arange(len(scores)), -scores))  # stable: ties keep pool order
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
            for j, i in enumerate(idx):
                yield RankedText(start + j + 1, rows[j], texts[j], guesses[j], proba[j], float(self.scores[i]))

    def write_csv(self, path: Path) -> None:
        """Every item, ranked, to ``path``: rank, row, text, guess, score, one probability per label."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["rank", "row", "text", "predicted", self.strategy, *[f"p_{lab}" for lab in self.labels]])
            for item in self.ranked():
                writer.writerow([item.rank, item.row, item.text, item.guess, f"{item.score:.6f}",
                                 *[f"{p:.6f}" for p in item.proba]])

    def close(self) -> None:
        """Unmap the files and delete the scratch folder."""
        self.table = None  # type: ignore[assignment]
        self.scores = self.order = None  # type: ignore[assignment]
        self._source.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> RankedPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def rank_chunks(
    model: Classifier, chunks: Iterable[tuple[list[int], list[str]]], strategy: str, scratch: str | Path | None = None
) -> RankedPool:
    """Score ``chunks`` of (rows, texts) with ``model`` and rank them by ``strategy``; files go in a new folder
    under ``scratch`` (the system's temporary folder by default)."""
    scorer = Scorer(strategy).require_per_batch()
    folder = Path(tempfile.mkdtemp(prefix="textal-score-", dir=scratch))
    try:
        scores = _score_into(folder, model, chunks, scorer)
        return RankedPool(folder, scores, list(model.labels_), scorer.name)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def rank_file(
    model: Classifier, path: str | Path, strategy: str, text_col: str | None = None,
    chunk_size: int = DEFAULT_CHUNK, scratch: str | Path | None = None,
) -> RankedPool:
    """Score every text of the file ``path`` and rank them, reading it ``chunk_size`` texts at a time."""
    return rank_chunks(model, text_chunks(path, text_col, chunk_size), strategy, scratch)


def score_shard(
    model: Classifier, chunks: Iterable[tuple[list[int], list[str]]], strategy: str, folder: Path
) -> None:
    """Score ``chunks`` into ``folder`` (its table and per-item scores) for :func:`merge_shards` to rank with
    other shards: one process's part of a pool scored by several. The strategy must score each text alone."""
    scorer = Scorer(strategy).require_per_batch()
    if not scorer.per_item:
        raise TextalError(f"strategy {scorer.name!r} compares texts across the pool; score it in one process")
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / _SCORES, _score_into(folder, model, chunks, scorer))


def merge_shards(folder: Path, shards: list[Path], labels: list[str], strategy: str) -> RankedPool:
    """The shards' texts, back in pool order, as one pool ranked in ``folder``; the shard folders are deleted."""
    sources = [pa.memory_map(str(shard / _TABLE)) for shard in shards]
    try:
        table = pa.concat_tables([ipc.open_file(source).read_all() for source in sources])
        scores = np.concatenate([np.load(shard / _SCORES) for shard in shards])
        by_row = np.argsort(table.column("row").to_numpy(), kind="stable")
        with ipc.new_file(str(folder / _TABLE), table.schema) as writer:
            for start in range(0, len(by_row), DEFAULT_CHUNK):
                writer.write_table(table.take(pa.array(by_row[start : start + DEFAULT_CHUNK])))
        table = None
    finally:
        for source in sources:
            source.close()
    for shard in shards:
        shutil.rmtree(shard, ignore_errors=True)
    return RankedPool(folder, scores[by_row], labels, Scorer(strategy).name)


def _score_into(folder: Path, model: Classifier, chunks: Iterable[tuple[list[int], list[str]]], scorer: Scorer) -> np.ndarray:
    k = len(model.labels_)
    schema = pa.schema([("row", pa.int64()), ("text", pa.large_string()), ("guess", pa.string()),
                        ("proba", pa.list_(pa.float32(), k))])
    per_item = scorer.per_item
    scores: list[np.ndarray] = []
    embeddings = folder / "embeddings.f32"
    proba_file = folder / "proba.f32"
    dim = 0
    with progress.task("Scoring texts") as bar, ipc.new_file(str(folder / _TABLE), schema) as writer, \
            open(embeddings, "wb") as emb_out, open(proba_file, "wb") as proba_out:
        for rows, texts in chunks:
            with progress.reporting(progress.QUIET):  # one bar for the whole pool, not one per chunk
                proba = np.asarray(model.predict_proba(texts), dtype=np.float32)
                if per_item:
                    scores.append(scorer.informativeness(proba, model.multi_label_))
                else:
                    proba_out.write(proba.tobytes())
                    if "embeddings" in scorer.needs:
                        vectors = np.asarray(model.embed(texts), dtype=np.float32)
                        dim = vectors.shape[1]
                        emb_out.write(vectors.tobytes())
            guesses = [label_text(g) for g in model.decode(proba)]
            flat = pa.array(proba.reshape(-1), type=pa.float32())
            writer.write_batch(pa.record_batch(
                [pa.array(rows, pa.int64()), pa.array(texts, pa.large_string()), pa.array(guesses, pa.string()),
                 pa.FixedSizeListArray.from_arrays(flat, k)], schema=schema))
            bar.advance(len(texts))
    if per_item:
        return np.concatenate(scores) if scores else np.zeros(0)
    # Strategies that compare texts with each other read the whole pool, from the memory maps.
    proba_all = np.memmap(proba_file, dtype=np.float32, mode="r").reshape(-1, k)
    vectors_all = np.memmap(embeddings, dtype=np.float32, mode="r").reshape(-1, dim) if dim else None
    texts_all = None
    if "texts" in scorer.needs:
        with pa.memory_map(str(folder / _TABLE)) as source:
            texts_all = ipc.open_file(source).read_all().column("text").to_pylist()
    return scorer.informativeness(proba_all, model.multi_label_, embeddings=vectors_all, texts=texts_all)
