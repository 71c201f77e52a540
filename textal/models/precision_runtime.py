"""Precision on a device: which format runs for a setting (auto chosen, fallbacks said once), and running in it."""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Iterator

import torch

from textal.models.precision import AUTO_TUNES_IN_BF16, check_precision, cpu_bf16_flags

log = logging.getLogger("textal")


def bf16_native(device: torch.device) -> bool:
    """Whether ``device`` computes in bf16 natively (else bf16 is emulated, slower than fp32)."""
    if device.type == "cuda":
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    return device.type == "cpu" and bool(cpu_bf16_flags())


def resolve_precision(requested: str, device: torch.device) -> str:
    """The precision that runs for ``requested`` on ``device``: auto chosen, bf16 and int8 fallen back where absent."""
    check_precision(requested)
    if requested == "auto":
        return "bf16" if bf16_native(device) else "fp32"
    if requested == "bf16" and not bf16_native(device):
        say_once(f"bf16 asked for, but {device.type} has no native bf16: running fp32")
        return "fp32"
    if requested == "int8" and device.type != "cpu":
        say_once(f"int8 runs on the CPU only: running fp32 on {device.type}")
        return "fp32"
    return requested


def resolve_tuning_precision(requested: str, device: torch.device) -> str:
    """The precision a tuning of the encoder runs in for ``requested``: int8 is for predictions only (tuning runs
    fp32 and says so), ``auto`` is bf16 only where ``AUTO_TUNES_IN_BF16`` and the device has it; the weights and the
    optimiser stay fp32 either way (bf16 is autocast over the forward pass)."""
    if check_precision(requested) == "int8":
        say_once("int8 is for predictions: the encoder is tuned in fp32")
        return "fp32"
    if requested == "auto":
        return "bf16" if AUTO_TUNES_IN_BF16 and bf16_native(device) else "fp32"
    return resolve_precision(requested, device)


@contextlib.contextmanager
def computing_in(precision: str, device: torch.device) -> Iterator[None]:
    """Run the block's matrix products in ``precision`` (a resolved one): bf16 under autocast, else as they are."""
    if precision == "bf16":
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16):
            yield
    else:
        yield


@functools.lru_cache(maxsize=16)
def say_once(message: str) -> None:
    """Log a precision fallback once per process (a fallback repeats on every call otherwise)."""
    log.warning(message)
