"""The contrastive full tier: the sentence encoder itself tuned so that texts sharing a label embed close together.

A supervised contrastive loss over label-balanced batches (every text in a batch has at least one other text of its
label there, and every other text is a negative only where it shares no label), the idea behind SetFit. Unlike the
plain fine-tune it keeps no classification head: the result is an encoder for the fast tier's head, embedded with
the same mean pooling, so the head and the selection read it exactly as they read the frozen one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator

from textal.errors import ModelError
from textal.models.classifier import LabelMixin, Labels, saved_params
from textal.models.hf import (
    collate,
    default_device,
    load_encoder_model,
    load_tokenizer,
    quiet_transformers,
    resolve_model_source,
    tokenize,
)
from textal.models.pooling import mean_pool
from textal.models.precision import DEFAULT_PRECISION
from textal.models.precision_runtime import computing_in, resolve_tuning_precision
from textal.runtime import progress


class ContrastiveEncoder(LabelMixin, BaseEstimator):
    """A transformer encoder tuned on labelled texts with a supervised contrastive loss; ``save`` writes an encoder
    folder that ``textal.models.encoder.Encoder`` reads.

    ``steps``: optimiser steps; ``None`` sizes them by the labels (``passes`` over them, between ``min_steps`` and
    ``max_steps``). ``time_budget``: seconds of training after which it stops early and says so in ``stopped_``.
    ``precision``: what the forward passes run in (``precision_``: what ran; weights and optimiser stay fp32).
    """

    kind = "contrastive-encoder"

    def __init__(
        self,
        classes: Sequence[str] | None = None,
        multi_label: bool = False,
        model: str = "default",
        steps: int | None = None,
        passes: float = 2.0,
        min_steps: int = 30,
        max_steps: int = 150,
        batch_size: int = 32,
        learning_rate: float = 2e-5,
        temperature: float = 0.05,
        max_length: int = 128,
        time_budget: float | None = 240.0,
        seed: int = 0,
        device: str | None = None,
        precision: str = DEFAULT_PRECISION,
    ) -> None:
        self.classes = classes
        self.multi_label = multi_label
        self.model = model
        self.steps = steps
        self.passes = passes
        self.min_steps = min_steps
        self.max_steps = max_steps
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.temperature = temperature
        self.max_length = max_length
        self.time_budget = time_budget
        self.seed = seed
        self.device = device
        self.precision = precision

    def _check_params(self) -> None:
        if self.batch_size < 4:
            raise ModelError(f"batch_size must be at least 4, not {self.batch_size}")
        if not self.temperature > 0:
            raise ModelError(f"temperature must be positive, not {self.temperature}")
        if not 1 <= self.min_steps <= self.max_steps:
            raise ModelError(f"need 1 <= min_steps <= max_steps, not {self.min_steps} and {self.max_steps}")
        if self.steps is not None and self.steps < 1:
            raise ModelError(f"steps must be at least 1, not {self.steps}")

    def planned_steps(self, n_texts: int) -> int:
        """The optimiser steps a fit on ``n_texts`` labelled texts takes (before any time budget)."""
        if self.steps is not None:
            return int(self.steps)
        wanted = math.ceil(self.passes * n_texts / self.batch_size)
        return int(min(self.max_steps, max(self.min_steps, wanted)))

    def fit(self, texts: Sequence[str], labels: Labels) -> ContrastiveEncoder:
        """Tune ``model`` on ``texts`` and their ``labels``; needs two texts of one label at least."""
        from transformers import get_linear_schedule_with_warmup

        self._check_params()
        texts = [str(t) for t in texts]
        if len(texts) != len(labels):
            raise ModelError(f"got {len(texts)} texts but {len(labels)} labels")
        y = self._learn_labels(labels)
        members = label_matrix(y, len(self.labels_), self.multi_label_)
        rng = np.random.default_rng(self.seed)
        torch.manual_seed(self.seed)
        batches = BalancedBatches(members, self.batch_size, rng)
        if not batches.usable:
            raise ModelError("contrastive tuning needs two texts sharing a label")
        source = resolve_model_source(self.model)
        tokenizer = load_tokenizer(source)
        device = default_device(self.device)
        net = load_encoder_model(source).to(device)
        self.precision_ = resolve_tuning_precision(self.precision, device)
        features = tokenize(tokenizer, texts, self.max_length)
        pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        side = getattr(tokenizer, "padding_side", "right")
        steps = self.planned_steps(len(texts))
        optimizer = torch.optim.AdamW(net.parameters(), lr=self.learning_rate, weight_decay=0.01)
        scheduler = get_linear_schedule_with_warmup(optimizer, max(1, steps // 10), steps)
        net.train()
        started, losses, self.stopped_ = time.perf_counter(), [], None
        with progress.task(f"Contrastive tuning on {len(texts)} texts", total=steps) as bar:
            for step in range(steps):
                if self.time_budget is not None and time.perf_counter() - started > self.time_budget:
                    self.stopped_ = f"time budget of {self.time_budget:.0f} s spent after {step} of {steps} steps"
                    break
                rows = batches.draw()
                batch = {k: v.to(device) for k, v in collate([features[i] for i in rows], pad_id, side).items()}
                with computing_in(self.precision_, device):
                    emb = mean_pool(net(**batch).last_hidden_state, batch["attention_mask"])
                loss = supervised_contrastive_loss(emb.float(), torch.as_tensor(members[rows]), self.temperature)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
                losses.append(float(loss.detach()))
                bar.advance()
        self.steps_done_ = len(losses)
        self.loss_ = losses
        self.seconds_ = round(time.perf_counter() - started, 2)
        self.tokenizer_ = tokenizer
        self.model_ = net.eval()
        return self

    def save(self, path: str | Path) -> None:
        """The tuned encoder (safetensors), its tokenizer and ``textal_model.json`` into the directory ``path``."""
        self._check_fitted()
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        with quiet_transformers():
            self.model_.save_pretrained(path, safe_serialization=True)
            self.tokenizer_.save_pretrained(path)
        extra = {
            "steps_done": self.steps_done_,
            "stopped": self.stopped_,
            "seconds": self.seconds_,
            "precision": self.precision_,
        }
        self._write_meta(path, saved_params(self), extra)

    def _check_fitted(self) -> None:
        if getattr(self, "model_", None) is None:
            raise ModelError("the contrastive encoder is not fitted yet")


def label_matrix(y: Any, n_classes: int, multi_label: bool) -> np.ndarray:
    """Membership (n, classes) as bools, from class indices or, multi-label, an indicator matrix."""
    if multi_label:
        return np.asarray(y, dtype=bool)
    members = np.zeros((len(y), n_classes), dtype=bool)
    members[np.arange(len(y)), np.asarray(y, dtype=int)] = True
    return members


class BalancedBatches:
    """Batches that draw labels evenly, then texts of each, so that every text has a positive in its batch."""

    def __init__(self, members: np.ndarray, batch_size: int, rng: np.random.Generator) -> None:
        self.members, self.batch_size, self.rng = members, batch_size, rng
        self.by_label = [np.flatnonzero(members[:, c]) for c in range(members.shape[1])]
        self.eligible = [c for c, rows in enumerate(self.by_label) if len(rows) >= 2]

    @property
    def usable(self) -> bool:
        """Whether any label has two texts (a positive pair)."""
        return bool(self.eligible)

    def draw(self) -> np.ndarray:
        """One batch of distinct row indices."""
        per_label = max(2, self.batch_size // max(1, len(self.eligible)))
        n_labels = max(1, self.batch_size // per_label)
        chosen = self.rng.choice(self.eligible, size=min(n_labels, len(self.eligible)), replace=False)
        rows: list[int] = []
        for c in chosen:
            pool = self.by_label[int(c)]
            rows.extend(int(i) for i in self.rng.choice(pool, size=min(per_label, len(pool)), replace=False))
        return np.asarray(list(dict.fromkeys(rows)), dtype=int)


def supervised_contrastive_loss(emb: torch.Tensor, members: torch.Tensor, temperature: float) -> torch.Tensor:
    """Khosla et al.'s supervised contrastive loss on unit embeddings: every pair sharing a label is a positive."""
    shared = (members.float() @ members.float().T) > 0
    eye = torch.eye(len(emb), dtype=torch.bool, device=emb.device)
    positives = (shared & ~eye).to(emb.device)
    logits = (emb @ emb.T) / temperature
    logits = logits.masked_fill(eye, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    has_positive = positives.any(dim=1)
    pos_log_prob = log_prob.masked_fill(~positives, 0.0).sum(dim=1) / positives.sum(dim=1).clamp(min=1)
    return -pos_log_prob[has_positive].mean()
