"""Settings of one backend process: where models and state live, the default strategy, limits, auth.

Everything a deployment tunes without code comes from ``textal serve`` flags or the environment:

- ``BASIC_AUTH_USER`` / ``BASIC_AUTH_PASS``: require HTTP basic auth (as Label Studio sends it).
- ``TEXTAL_QUEUE_URL``: ``redis://...`` puts jobs on Redis; unset, jobs go to SQLite in the data folder.
- ``TEXTAL_MAX_BODY_MB`` (default 8): larger request bodies get a 413.
- ``TEXTAL_MAX_TEXT_CHARS`` (default 20000): a longer task text is skipped with a reason.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from textal.errors import TextalError

DEFAULT_STRATEGY = "entropy"


def default_data_dir(store: Path) -> Path:
    """The data folder used when none is given: ``<store>-backend`` beside the store."""
    store = Path(store)
    return store.with_name(store.name + "-backend")


@dataclass(frozen=True)
class Settings:
    """What the app needs to run; build it with ``Settings.create`` to read the environment."""

    store: Path
    data_dir: Path
    strategy: str = DEFAULT_STRATEGY
    queue_url: str | None = None
    basic_auth_user: str | None = None
    basic_auth_pass: str | None = None
    max_body_bytes: int = 8 * 1024 * 1024
    max_text_chars: int = 20_000
    batch_size: int = 32  # texts per model call, length-sorted (requests interleave between calls)
    swap_wait_s: float = 30.0  # how long /predict waits for a model that is being loaded
    setup_wait_s: float = 1.0  # /setup answers within Label Studio's 3 s timeout

    @classmethod
    def create(
        cls,
        store: str | Path,
        data_dir: str | Path | None = None,
        strategy: str = DEFAULT_STRATEGY,
        environ: dict[str, str] | None = None,
    ) -> Settings:
        """Settings for ``store`` with the rest read from ``environ`` (default: the process environment)."""
        env = os.environ if environ is None else environ
        store = Path(store).expanduser().resolve()
        if store.exists() and not store.is_dir():
            raise TextalError(f"--store {store} is a file; give the model store's folder")
        data = Path(data_dir).expanduser().resolve() if data_dir is not None else default_data_dir(store)
        if data.exists() and not data.is_dir():
            raise TextalError(f"--data-dir {data} is a file; give a folder")
        user = env.get("BASIC_AUTH_USER") or None
        password = env.get("BASIC_AUTH_PASS") or None
        if (user is None) != (password is None):
            raise TextalError("set both BASIC_AUTH_USER and BASIC_AUTH_PASS, or neither")
        return cls(
            store=store,
            data_dir=data,
            strategy=strategy,
            queue_url=env.get("TEXTAL_QUEUE_URL") or None,
            basic_auth_user=user,
            basic_auth_pass=password,
            max_body_bytes=int(_positive_float(env, "TEXTAL_MAX_BODY_MB", 8.0) * 1024 * 1024),
            max_text_chars=int(_positive_float(env, "TEXTAL_MAX_TEXT_CHARS", 20_000)),
        )


def _positive_float(env: os._Environ[str] | dict[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise TextalError(f"{name}={raw!r} is not a number") from None
    if value <= 0:
        raise TextalError(f"{name} must be positive, got {raw}")
    return value
