"""Log lines that stay small however hostile the input and however often they recur.

Every line that echoes input (a task's key, a reason naming a label, a request's path) or that a
client can repeat at will (a skipped task, a refused request, a webhook joining a waiting job) goes
through :func:`limited` or :func:`once`:

- echoed values are cut to :data:`ECHO_CHARS` characters (``clip``), on one line;
- a line of the same key is written at most once per ``every`` seconds; the next one written says how
  many were held back meanwhile. :func:`once` writes a key once for the life of the process.

The keys remembered are bounded (:data:`MAX_KEYS`, oldest forgotten first), so a flood of distinct
keys cannot grow memory either. Used by ``ml_backend`` (which imports ``textal``, never the reverse).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

ECHO_CHARS = 240  # the most of any echoed value a log line holds
EVERY_S = 60.0  # a repeated line of one key: at most once in this many seconds
MAX_KEYS = 1024  # keys remembered; the oldest is forgotten first

_lock = threading.Lock()
_seen: OrderedDict[Hashable, list[float]] = OrderedDict()  # key -> [last written (monotonic), held back since]
_once: OrderedDict[Hashable, None] = OrderedDict()


def clip(value: Any, limit: int = ECHO_CHARS) -> str:
    """``value`` as text on one line, at most ``limit`` characters and a note of how long it was."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        text = f"{text[:limit]}... ({len(text):,} characters)"
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() else " " for ch in text)
    return text


def _clipped(args: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(a if isinstance(a, (int, float)) and not isinstance(a, bool) else clip(a) for a in args)


def limited(logger: logging.Logger, level: int, key: Hashable, msg: str, *args: Any, every: float = EVERY_S) -> bool:
    """Log ``msg % args`` (arguments clipped) unless a line of ``key`` was written less than ``every`` seconds
    ago; returns whether it was written. The line written after a quiet spell counts those held back."""
    if not logger.isEnabledFor(level):
        return False
    now = time.monotonic()
    full_key = (logger.name, key)
    with _lock:
        entry = _seen.get(full_key)
        if entry is not None and now - entry[0] < every:
            entry[1] += 1
            return False
        held = int(entry[1]) if entry is not None else 0
        _seen[full_key] = [now, 0]
        _seen.move_to_end(full_key)
        while len(_seen) > MAX_KEYS:
            _seen.popitem(last=False)
    if held:
        msg = f"{msg} (and {held} more like it in the last {every:.0f} s)"
    logger.log(level, msg, *_clipped(args))
    return True


def once(logger: logging.Logger, level: int, key: Hashable, msg: str, *args: Any) -> bool:
    """Log ``msg % args`` (arguments clipped) the first time ``key`` is seen in this process; returns whether
    it was written."""
    full_key = (logger.name, key)
    with _lock:
        if full_key in _once:
            return False
        _once[full_key] = None
        while len(_once) > MAX_KEYS:
            _once.popitem(last=False)
    logger.log(level, msg, *_clipped(args))
    return True


def forget() -> None:
    """Forget every key (tests)."""
    with _lock:
        _seen.clear()
        _once.clear()
