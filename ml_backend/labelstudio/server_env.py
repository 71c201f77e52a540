"""The environment textal starts a Label Studio server with (`textal up`, the tests, the benchmarks), and why.

A Label Studio started another way can take the same settings; the README lists the ones that matter.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

# Label Studio 1.23's default prediction import recounts every task of the project on each call, so a push
# of 100 predictions costs seconds per 10,000 tasks. Its memory-efficient import (off by default) recounts
# only the tasks it touched. Feature flags are read from the environment by name.
BATCHED_PREDICTION_IMPORT = {"fflag_fix_back_4620_memory_efficient_predictions_import_08012025_short": "true"}

# Label Studio gives an ML backend 1 s to answer /health and 3 s for /setup before it calls the connection
# failed; on a busy 2-core machine (a retrain beside it) a healthy backend can miss that. Longer, within reason.
BACKEND_TIMEOUTS = {"ML_TIMEOUT_HEALTH": "10", "ML_TIMEOUT_SETUP": "15"}

# Variables of the caller's environment that would change which server, user or database Label Studio uses.
UNSET = ("HOST", "PORT", "USERNAME", "PASSWORD", "DEBUG", "DJANGO_DB", "LABEL_STUDIO_API_KEY", "LABEL_STUDIO_URL")


def label_studio_environment(
    base: Mapping[str, str], data_dir: Path, email: str, password: str, token: str
) -> dict[str, str]:
    """``base`` (less what would redirect the server) with a local Label Studio's settings: its data folder, an
    admin user and API token, backends and webhooks on loopback allowed, no calls home."""
    env = {k: v for k, v in base.items() if k not in UNSET}
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
