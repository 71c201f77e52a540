"""textal's environment: the only module of the library that reads environment variables, and the one rule
for a number in one (``ml_backend.config`` parses its own variables by it too).

Every function takes an optional ``environ`` mapping so that tests and callers can pass their own.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path

from textal.errors import TextalError

Environ = Mapping[str, str]
_TRUE = ("1", "true", "yes", "on")


def environment(environ: Environ | None = None) -> Environ:
    """``environ`` if given, else the process's environment."""
    return os.environ if environ is None else environ


def positive_number(
    name: str,
    default: float,
    environ: Environ | None = None,
    unit: str = "",
    whole: bool = False,
    error: type[Exception] = TextalError,
) -> float:
    """The number in variable ``name`` (``default`` when unset or empty): finite and above zero, and at least 1
    when ``whole`` (a count, read as a float and truncated by the caller). Anything else raises ``error`` naming
    the variable: ``nan``, ``inf``, ``0``, ``-1`` and ``ten`` are all refused, here and in the backend alike."""
    raw = environment(environ).get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0 and (value >= 1 or not whole)):
        at_least = " (1 or more)" if whole else ""
        raise error(f"{name} must be a positive number{' of ' + unit if unit else ''}{at_least}, not {raw!r}")
    return value


def flag(name: str, environ: Environ | None = None) -> bool:
    """Whether variable ``name`` says yes (1, true, yes, on; any case)."""
    return environment(environ).get(name, "").strip().lower() in _TRUE


def debug_enabled(environ: Environ | None = None) -> bool:
    """``TEXTAL_DEBUG`` set (and not 0): errors print their traceback."""
    return environment(environ).get("TEXTAL_DEBUG", "") not in ("", "0")


def cache_dir(environ: Environ | None = None) -> Path:
    """Where embeddings are cached between runs: $TEXTAL_CACHE, else $XDG_CACHE_HOME/textal (~/.cache/textal),
    with ``embeddings`` below it."""
    env = environment(environ)
    root = env.get("TEXTAL_CACHE") or os.path.join(
        env.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "textal"
    )
    return Path(root) / "embeddings"


def hub_offline(environ: Environ | None = None) -> bool:
    """Whether the environment forbids talking to the Hugging Face hub (HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE)."""
    return flag("HF_HUB_OFFLINE", environ) or flag("TRANSFORMERS_OFFLINE", environ)


def hub_endpoint(environ: Environ | None = None) -> str:
    """The hub's address (HF_ENDPOINT, default huggingface.co)."""
    return environment(environ).get("HF_ENDPOINT", "https://huggingface.co")


def launched_processes(environ: Environ | None = None) -> int:
    """How many processes the launcher (``accelerate launch``, ``torchrun``) started this one among; 1 if none."""
    return int(positive_number("WORLD_SIZE", 1, environ, whole=True))


def process_rank(environ: Environ | None = None) -> int:
    """This process's rank under a launcher (``RANK``); 0 if none."""
    raw = environment(environ).get("RANK", "").strip() or "0"
    if not raw.isdigit():
        raise TextalError(f"RANK must be a whole number of 0 or more, not {raw!r}")
    return int(raw)
