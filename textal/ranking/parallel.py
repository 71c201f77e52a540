"""``textal score`` on several processes or GPUs, started by ``accelerate launch --multi_gpu`` (or ``torchrun``).

Every process reads the pool and scores every n-th chunk of it (the n-th GPU each, where there are
GPUs) into its own shard; the main process then puts the texts back in pool order and ranks them,
so the result is the one a single process writes. Only strategies that score each text alone can be
split this way.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import cast

from textal.data.corpus import text_chunks
from textal.models.classifier import Classifier
from textal.ranking.ranked_pool import DEFAULT_CHUNK, RankedPool, merge_shards, score_shard
from textal.runtime.settings import process_rank


def is_main_process() -> bool:
    """Whether this is the launcher's first process (or no launcher started this one): the one that reports."""
    return process_rank() == 0


def rank_file_in_processes(
    model: Classifier,
    path: str | Path,
    strategy: str,
    text_col: str | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    scratch: str | Path | None = None,
    batch: int = 0,
    trained_on: int | None = None,
) -> RankedPool | None:
    """Score ``path`` with this process's share of the chunks. The main process gets the ranked pool (close it)
    or the first error of any process; the others get None once every shard is written."""
    import torch
    from accelerate import PartialState
    from accelerate.utils import broadcast_object_list

    state = PartialState(cpu=not torch.cuda.is_available())  # gloo between CPU processes, NCCL between GPUs
    if torch.cuda.is_available():
        torch.cuda.set_device(state.local_process_index)  # "cuda" is then this process's own GPU
    folder = [tempfile.mkdtemp(prefix="textal-score-", dir=scratch) if state.is_main_process else None]
    broadcast_object_list(folder)  # the main process's scratch folder, which every shard goes under
    root = Path(cast(str, folder[0]))  # every process has the main one's folder now
    shards = [root / f"shard-{i}" for i in range(state.num_processes)]
    failed: Exception | None = None
    try:
        score_shard(
            model,
            _every_nth(text_chunks(path, text_col, chunk_size), state.process_index, state.num_processes),
            strategy,
            shards[state.process_index],
        )
    except Exception as exc:  # every process must still reach the gather, or the others wait for ever
        failed = exc
    errors: list[Exception | None] = [None] * state.num_processes
    torch.distributed.all_gather_object(errors, failed)
    # the last collective: leave the group now, so no process exits with gloo's threads still running (SIGABRT)
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()
    if not state.is_main_process:
        return None  # the main process reports any error, once
    if any(e is not None for e in errors):
        shutil.rmtree(root, ignore_errors=True)
        raise next(e for e in errors if e is not None)
    try:
        return merge_shards(root, shards, list(model.labels_), strategy, model.multi_label_, batch, trained_on)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise


def _every_nth(
    chunks: Iterator[tuple[list[int], list[str]]], start: int, step: int
) -> Iterator[tuple[list[int], list[str]]]:
    return islice(chunks, start, None, step)
