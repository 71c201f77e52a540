"""The number formats a transformer may run in for inference, and whether this CPU does bf16 natively.

``auto`` (the default) is bf16 where the hardware has it (a CUDA GPU that supports it; a CPU with AVX512-BF16 or AMX)
and fp32 elsewhere; an explicit ``bf16`` on hardware without it falls back to fp32 and says so once. Training keeps
fp32 weights. Agreement of each with fp32 is measured in benchmarks/predict_throughput. No torch here: the backend's
settings read the names; ``textal.models.precision_runtime`` resolves and applies them on a device.
"""

from __future__ import annotations

import functools
from pathlib import Path

from textal.errors import ModelError

PRECISIONS = ("auto", "fp32", "bf16", "int8")
DEFAULT_PRECISION = "auto"
# Whether ``auto`` also tunes the encoder (the contrastive full tier) in bf16 where the hardware has it; an explicit
# ``bf16`` always does. Chosen on the side-by-side in benchmarks/full_tier_precision.
AUTO_TUNES_IN_BF16 = True
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


def check_precision(name: str) -> str:
    """``name`` if it is a precision, else a ModelError listing them."""
    if name not in PRECISIONS:
        raise ModelError(f"unknown precision {name!r}: choose {', '.join(PRECISIONS)}")
    return name


@functools.lru_cache(maxsize=1)
def cpu_bf16_flags(cpuinfo: str = "/proc/cpuinfo") -> tuple[str, ...]:
    """The CPU's native bf16 instruction sets (Linux's ``/proc/cpuinfo`` flags); none where it cannot be read."""
    try:
        text = Path(cpuinfo).read_text(errors="replace")
    except OSError:
        return ()
    flags = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags.update(line.partition(":")[2].split())
    return tuple(f for f in BF16_CPU_FLAGS if f in flags)
