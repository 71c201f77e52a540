"""The environment textal starts a Label Studio server with (`textal up`, the tests, the benchmarks), and why.

A Label Studio started another way can take the same settings; the README lists the ones that matter.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

# Label Studio 1.23's default prediction import recounts every task of the project on each call, so a push
# of 100 predictions costs seconds per 10,000 tasks. Its memory-efficient import (off by default) recounts
# only the tasks it touched. Feature flags are read from the environment by name.
BATCHED_PREDICTION_IMPORT = {"fflag_fix_back_4620_memory_efficient_predictions_import_08012025_short": "true"}

# Label Studio gives an ML backend 1 s to answer /health and 3 s for /setup before it calls the connection
# failed; on a busy 2-core machine (a retrain beside it) a healthy backend can miss that. Longer, within reason.
BACKEND_TIMEOUTS = {"ML_TIMEOUT_HEALTH": "10", "ML_TIMEOUT_SETUP": "15"}

# Variables of the caller's environment that would change which server, user or database Label Studio uses.
UNSET = ("HOST", "PORT", "USERNAME", "PASSWORD", "DEBUG", "DJANGO_DB", "LABEL_STUDIO_API_KEY", "LABEL_STUDIO_URL")
# Label Studio's own names for its PostgreSQL database (DJANGO_DB=default selects it); the password is the caller's
# POSTGRE_PASSWORD, never part of a URL (a command line shows it to every user of the machine).
POSTGRES_PASSWORD_ENV = "POSTGRE_PASSWORD"


class DatabaseURLError(ValueError):
    """A database URL textal cannot give Label Studio: one line saying what to write instead."""


def database_environment(url: str | None, base: Mapping[str, str]) -> dict[str, str]:
    """Label Studio's database settings: SQLite in its data folder (``url`` None), or the PostgreSQL that
    ``postgresql://USER@HOST:PORT/NAME`` names, with the password from ``base``'s ``POSTGRE_PASSWORD``."""
    if url is None:
        return {"DJANGO_DB": "sqlite"}
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres") or not parts.hostname or not parts.path.strip("/"):
        raise DatabaseURLError("the database must be written postgresql://USER@HOST:PORT/NAME")
    if parts.password is not None:
        raise DatabaseURLError(f"leave the password out of the database URL: put it in {POSTGRES_PASSWORD_ENV}")
    try:
        port = parts.port or 5432
    except ValueError:
        raise DatabaseURLError("the database URL's port must be a number") from None
    return {
        "DJANGO_DB": "default",
        "POSTGRE_HOST": parts.hostname,
        "POSTGRE_PORT": str(port),
        "POSTGRE_NAME": unquote(parts.path.strip("/")),
        "POSTGRE_USER": unquote(parts.username or "postgres"),
        POSTGRES_PASSWORD_ENV: base.get(POSTGRES_PASSWORD_ENV, ""),
    }


def label_studio_environment(
    base: Mapping[str, str], data_dir: Path, email: str, password: str, token: str, database: str | None = None
) -> dict[str, str]:
    """``base`` (less what would redirect the server) with a local Label Studio's settings: its data folder, an
    admin user and API token, backends and webhooks on loopback allowed, no calls home, and its database
    (``database_environment``: SQLite unless ``database`` names a PostgreSQL)."""
    env = {k: v for k, v in base.items() if k not in UNSET}
    env.update(database_environment(database, base))
    env.update(
        LABEL_STUDIO_BASE_DATA_DIR=str(data_dir),
        LABEL_STUDIO_USERNAME=email,
        LABEL_STUDIO_PASSWORD=password,
        LABEL_STUDIO_USER_TOKEN=token,
        LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN="true",
        ML_BLOCK_LOCAL_IP="false",  # else 403 for backends and webhooks on 127.0.0.1
        SSRF_PROTECTION_ENABLED="false",
        LATEST_VERSION_CHECK="false",
        COLLECT_ANALYTICS="false",
        SENTRY_DSN="",
        FRONTEND_SENTRY_DSN="",
        PYTHONUNBUFFERED="1",
        **BATCHED_PREDICTION_IMPORT,
        **{k: base.get(k, v) for k, v in BACKEND_TIMEOUTS.items()},
    )
    return env
