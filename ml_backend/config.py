"""The only reader of the environment, and the one place each of the backend's defaults is defined.

``textal serve`` and ``textal worker`` build their settings here from their flags plus these
variables:

- ``TEXTAL_QUEUE_URL``: ``redis://...`` puts jobs on Redis; unset, jobs go to SQLite in the data folder.
- ``BASIC_AUTH_USER`` / ``BASIC_AUTH_PASS``: the server requires HTTP basic auth (as Label Studio sends it).
- ``TEXTAL_MAX_BODY_MB`` (default 8): larger request bodies get a 413.
- ``TEXTAL_MAX_TEXT_CHARS`` (default 20000): a longer task text is skipped with a reason.
- ``TEXTAL_MAX_PREDICT_TASKS`` (1000), ``TEXTAL_MAX_CONFIG_KB`` (256), ``TEXTAL_MAX_CHOICES`` (5000),
  ``TEXTAL_MAX_PROJECTS`` (1000), ``TEXTAL_BODY_TIMEOUT_S`` (30): what one request, or all of them, may cost.
- ``TEXTAL_MAX_CONNECTIONS`` (256), ``TEXTAL_HEADER_TIMEOUT_S`` (10): open connections, and the time a request's
  headers may take (``textal serve``'s HTTP server).
- ``TEXTAL_TRUST_SETUP_HOSTNAME=1``: accept a /setup that names a Label Studio other than the configured one.
- ``LABEL_STUDIO_URL`` (or ``LABEL_STUDIO_HOST``) / ``LABEL_STUDIO_API_KEY``: the one Label Studio ``textal serve``
  and ``textal worker`` serve (both refuse to start without it: ``require_label_studio``), overriding what /setup
  sent; the key with which ``textal serve`` asks it for a project's label config and settings, and with which the
  worker works; the Label Studio ``textal init`` and ``textal export`` talk to.
"""

from __future__ import annotations

import math
import os
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from ml_backend.errors import BackendConfigError
from textal.models.class_weights import CLASS_WEIGHTS, DEFAULT_CLASS_WEIGHT
from textal.models.fine_tune_schedule import (
    DEFAULT_FULL_EPOCHS,
    DEFAULT_FULL_EVERY,
    DEFAULT_FULL_MIN_STEPS,
    DEFAULT_FULL_TIER,
    FULL_TIERS,
)
from textal.models.precision import DEFAULT_PRECISION, PRECISIONS
from textal.runtime.settings import positive_number
from textal.strategies.default import DEFAULT_STRATEGY  # noqa: F401  (defined once, in textal)
from textal.training.promotion import DEFAULT_MARGIN, DEFAULT_MIN_EVAL

DEFAULT_PORT = 9090
DEFAULT_HOST = "127.0.0.1"
DEFAULT_ENCODER = "default"  # the fast tier's frozen encoder (MiniLM) until a fine-tune replaces it
QUEUE_URL_ENV = "TEXTAL_QUEUE_URL"
LABEL_STUDIO_URL_ENV = "LABEL_STUDIO_URL"
LABEL_STUDIO_HOST_ENV = "LABEL_STUDIO_HOST"  # Label Studio's own examples use this name for the URL
LABEL_STUDIO_KEY_ENV = "LABEL_STUDIO_API_KEY"
DEFAULT_LABEL_STUDIO_URL = "http://localhost:8080"
DEFAULT_BACKEND_URL = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
MAX_TEXT_CHARS = 20_000
MAX_BODY_MB = 8.0
PREFILL_MARGIN = 0.2
MAX_PREDICT_TASKS = 1000
MAX_CONFIG_KB = 256
MAX_CHOICES = 5000
MAX_PROJECTS = 1000
BODY_TIMEOUT_S = 30.0
MAX_CONNECTIONS = 256  # open HTTP connections; past it the oldest one that sent no request is closed
HEADER_TIMEOUT_S = 10.0  # a request's line and headers arrive within this, or its connection is closed
ANSWER_FLOOR_KB = 1024  # an answer may have this much, plus ANSWER_RATIO times the bytes of its request
ANSWER_RATIO = 32
# Upper bounds of the worker's counts and intervals (a flag past one is refused at start, a project's setting with
# a 400): far beyond any useful value, low enough that no setting makes a job loop, allocate or push without end.
SETTING_BOUNDS: dict[str, int] = {
    "batch": 10_000,
    "eval_min": 100_000,
    "eval_every": 10_000,
    "full_every": 10_000_000,
    "min_eval": 100_000,
    "review_marks": 10_000,
    "committee_size": 100,
    "head": 100_000,
    "push_chunk": 10_000,
    "full_epochs": 100,
    "full_min_steps": 1_000_000,
}
MAX_KEEP_REPLACED_S = 7 * 24 * 3600.0
MAX_RECONCILE_S = 24 * 3600.0
# The worker settings one project may set for itself (a recipe, through the ML backend's extra_params), with
# their types; the rest are the worker's. ``strategy`` is a project setting too, kept in its own field.
PROJECT_PARAMS: dict[str, type] = {
    "batch": int,
    "eval_fraction": float,
    "eval_min": int,
    "eval_every": int,
    "full_every": int,
    "promote_margin": float,
    "min_eval": int,
    "prefill_margin": float,
    "encoder": str,
    "class_weight": str,
    "precision": str,
    "full_tier": str,
    "review_marks": int,
}
# The project settings that name one of a few choices, with the choices.
CHOICE_PARAMS: dict[str, tuple[str, ...]] = {
    "class_weight": CLASS_WEIGHTS,
    "precision": PRECISIONS,
    "full_tier": FULL_TIERS,
}

Environ = Mapping[str, str]


def _env(environ: Environ | None) -> Environ:
    return os.environ if environ is None else environ


def queue_url(environ: Environ | None = None) -> str | None:
    """The Redis URL of the job queue, or None for SQLite in the data folder."""
    return _env(environ).get(QUEUE_URL_ENV) or None


def label_studio_url(environ: Environ | None = None) -> str | None:
    """The configured Label Studio (``LABEL_STUDIO_URL``, else ``LABEL_STUDIO_HOST``), or None."""
    env = _env(environ)
    return (env.get(LABEL_STUDIO_URL_ENV) or env.get(LABEL_STUDIO_HOST_ENV) or "").strip().rstrip("/") or None


def require_label_studio(command: str, environ: Environ | None = None) -> str:
    """The configured Label Studio; BackendConfigError (one line, exit 2) when none is named: ``textal serve`` and
    ``textal worker`` never trust whichever server a project's first /setup names."""
    url = label_studio_url(environ)
    if url is None:
        raise BackendConfigError(
            f"{command} needs the Label Studio it serves: set {LABEL_STUDIO_URL_ENV} (or {LABEL_STUDIO_HOST_ENV}) to "
            f"its address, for example {DEFAULT_LABEL_STUDIO_URL} (textal up sets it)"
        )
    return url


@dataclass(frozen=True)
class LabelStudioOverride:
    """The Label Studio URL and key set in the worker's environment (each None when unset)."""

    url: str | None
    api_key: str | None

    @classmethod
    def read(cls, environ: Environ | None = None) -> LabelStudioOverride:
        env = _env(environ)
        return cls(label_studio_url(env), env.get(LABEL_STUDIO_KEY_ENV) or None)


@dataclass(frozen=True)
class BasicCredentials:
    """The basic-auth user and password of a ``textal serve`` (what Label Studio sends on its connection)."""

    user: str
    password: str = field(repr=False)

    def header(self) -> str:
        """The ``Authorization`` header's value."""
        import base64

        return "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()


def child_environment(unset: Collection[str] = (), environ: Environ | None = None) -> dict[str, str]:
    """The environment a child process (Label Studio, serve, worker under ``textal up``) starts from: this
    process's, less the variables in ``unset``."""
    return {k: v for k, v in _env(environ).items() if k not in unset}


def idle_threads_sleep() -> None:
    """Make torch's idle OpenMP threads sleep instead of spin (takes effect only before torch is imported).

    Spinning threads steal the CPU from Label Studio and the other textal process on a small machine,
    and under such contention made a 20-text MiniLM batch about 4x slower.
    """
    import sys

    if "torch" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def default_data_dir(store: Path) -> Path:
    """The data folder used when none is given: ``<store>-backend`` beside the store."""
    store = Path(store)
    return store.with_name(store.name + "-backend")


@dataclass(frozen=True)
class ServerSettings:
    """What the HTTP backend needs to run; build it with ``ServerSettings.create`` to read the environment."""

    store: Path
    data_dir: Path
    strategy: str = DEFAULT_STRATEGY
    queue_url: str | None = None
    basic_auth_user: str | None = None
    basic_auth_pass: str | None = None
    max_body_bytes: int = int(MAX_BODY_MB * 1024 * 1024)
    max_text_chars: int = MAX_TEXT_CHARS
    batch_size: int = 32  # texts per model call, length-sorted (requests interleave between calls)
    swap_wait_s: float = 30.0  # how long /predict waits for a model that is being loaded
    setup_wait_s: float = 1.0  # /setup answers within Label Studio's 3 s timeout
    label_studio_url: str | None = None  # the one Label Studio this backend serves (None: in-process use only)
    label_studio_key: str | None = field(default=None, repr=False)  # asks it for a project's config and settings
    trust_setup_hostname: bool = False  # accept a /setup naming another Label Studio (logged)
    max_predict_tasks: int = MAX_PREDICT_TASKS
    max_config_chars: int = MAX_CONFIG_KB * 1024
    max_choices: int = MAX_CHOICES
    max_json_depth: int = 32
    max_projects: int = MAX_PROJECTS
    body_timeout_s: float = BODY_TIMEOUT_S
    predict_concurrency: int = 2  # /predict computations at once; /health, /setup, /webhook never wait behind them
    setup_concurrency: int = 4  # /setup computations (they may ask Label Studio) at once, in threads of their own
    setup_queue_s: float = 2.0  # a /setup that waits longer for its turn gets a 503 (Label Studio waits 3 s)
    answer_floor_bytes: int = ANSWER_FLOOR_KB * 1024
    answer_ratio: int = ANSWER_RATIO
    max_connections: int = MAX_CONNECTIONS
    header_timeout_s: float = HEADER_TIMEOUT_S
    keep_alive_s: int = 5  # an idle kept-alive connection is closed after this
    max_header_bytes: int = 16 * 1024  # a request line and headers larger than this get a 400 (h11)
    backlog: int = 512  # connections the kernel queues before the server accepts them

    @classmethod
    def create(
        cls,
        store: str | Path,
        data_dir: str | Path | None = None,
        strategy: str = DEFAULT_STRATEGY,
        environ: Environ | None = None,
    ) -> ServerSettings:
        """Settings for ``store`` with the rest read from ``environ`` (default: the process environment)."""
        env = _env(environ)
        store = Path(store).expanduser().resolve()
        if store.exists() and not store.is_dir():
            raise BackendConfigError(f"--store {store} is a file; give the model store's folder")
        data = Path(data_dir).expanduser().resolve() if data_dir is not None else default_data_dir(store)
        if data.exists() and not data.is_dir():
            raise BackendConfigError(f"--data-dir {data} is a file; give a folder")
        user = env.get("BASIC_AUTH_USER") or None
        password = env.get("BASIC_AUTH_PASS") or None
        if (user is None) != (password is None):
            raise BackendConfigError("set both BASIC_AUTH_USER and BASIC_AUTH_PASS, or neither")
        return cls(
            store=store,
            data_dir=data,
            strategy=strategy,
            queue_url=queue_url(env),
            basic_auth_user=user,
            basic_auth_pass=password,
            max_body_bytes=int(_positive_float(env, "TEXTAL_MAX_BODY_MB", MAX_BODY_MB) * 1024 * 1024),
            max_text_chars=int(_positive_float(env, "TEXTAL_MAX_TEXT_CHARS", MAX_TEXT_CHARS, whole=True)),
            label_studio_url=label_studio_url(env),
            label_studio_key=env.get(LABEL_STUDIO_KEY_ENV) or None,
            trust_setup_hostname=env.get("TEXTAL_TRUST_SETUP_HOSTNAME", "").lower() in ("1", "true", "yes"),
            max_predict_tasks=int(_positive_float(env, "TEXTAL_MAX_PREDICT_TASKS", MAX_PREDICT_TASKS, whole=True)),
            max_config_chars=int(_positive_float(env, "TEXTAL_MAX_CONFIG_KB", MAX_CONFIG_KB) * 1024),
            max_choices=int(_positive_float(env, "TEXTAL_MAX_CHOICES", MAX_CHOICES, whole=True)),
            max_projects=int(_positive_float(env, "TEXTAL_MAX_PROJECTS", MAX_PROJECTS, whole=True)),
            body_timeout_s=_positive_float(env, "TEXTAL_BODY_TIMEOUT_S", BODY_TIMEOUT_S),
            max_connections=int(_positive_float(env, "TEXTAL_MAX_CONNECTIONS", MAX_CONNECTIONS, whole=True)),
            header_timeout_s=_positive_float(env, "TEXTAL_HEADER_TIMEOUT_S", HEADER_TIMEOUT_S),
        )


@dataclass(frozen=True)
class WorkerSettings:
    """How the worker trains and orders; ``textal worker`` flags, the same for every project it serves."""

    data_dir: Path
    store: Path | None = None  # the store `textal serve --store` serves before a project has its own versions
    strategy: str = DEFAULT_STRATEGY  # for projects whose /setup named none (give `textal serve` the same)
    encoder: str = DEFAULT_ENCODER
    class_weight: str = DEFAULT_CLASS_WEIGHT  # the fast tier's head: balanced or none
    eval_fraction: float = 0.1
    eval_min: int = 50
    batch: int = 20  # the strategy's next batch goes first in Label Studio's order
    eval_every: int = 3  # one evaluation-slice task in every this many served (0: the whole slice first)
    full_every: int = DEFAULT_FULL_EVERY  # new labels between full fine-tunes (0: only on request)
    prefill_margin: float = PREFILL_MARGIN  # a guess is pre-filled only when it leads the runner-up by this much
    precision: str = DEFAULT_PRECISION  # the encoder's number format (textal.models.precision): auto, fp32, bf16, int8
    full_tier: str = DEFAULT_FULL_TIER  # contrastive or plain (textal.models.fine_tune_schedule.FULL_TIERS)
    full_epochs: int = DEFAULT_FULL_EPOCHS  # the plain full tier's
    full_min_steps: int = DEFAULT_FULL_MIN_STEPS
    promote_margin: float = DEFAULT_MARGIN
    min_eval: int = DEFAULT_MIN_EVAL
    agreement_threshold: float = 2 / 3
    committee_size: int = 5
    review_marks: int = 50  # most suspicious labels marked for review in Label Studio after a retrain (0: no review)
    review_holdout: bool = False  # marked labels sit out training until changed (benchmarks/label_noise: off)
    max_text_chars: int = MAX_TEXT_CHARS
    head: int = (
        100  # open tasks a new version is pushed to before Label Studio switches to it; the rest is filled after
    )
    push_chunk: int = 250  # predictions imported per request (each request holds Label Studio's write lock)
    keep_replaced_s: float = 900.0  # a replaced push label's predictions stay this long: an open editor may hold one
    seed: int = 0
    queue_url: str | None = None
    reconcile_s: float = 30.0
    deep_reconcile_s: float = 1800.0  # a full re-read of every annotation (belt and braces)
    label_studio: LabelStudioOverride = LabelStudioOverride(None, None)

    @classmethod
    def create(cls, data_dir: str | Path, environ: Environ | None = None, **flags: Any) -> WorkerSettings:
        """Settings from ``textal worker`` flags, with the queue URL and Label Studio override read from ``environ``."""
        env = _env(environ)
        store = flags.pop("store", None)
        return cls(
            data_dir=Path(data_dir).expanduser().resolve(),
            store=Path(store).expanduser().resolve() if store else None,
            queue_url=queue_url(env),
            label_studio=LabelStudioOverride.read(env),
            **flags,
        ).check()

    def check(self) -> WorkerSettings:
        """Raise BackendConfigError naming the first setting out of range."""
        if not 0.0 <= self.eval_fraction < 0.5:
            raise BackendConfigError(f"--eval-fraction must be in [0, 0.5), got {self.eval_fraction}")
        for name in ("eval_min", "batch", "eval_every", "full_every", "min_eval", "committee_size", "review_marks"):
            if getattr(self, name) < 0:
                raise BackendConfigError(f"--{name.replace('_', '-')} must be 0 or more, got {getattr(self, name)}")
        if self.precision not in PRECISIONS:
            raise BackendConfigError(f"--precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.full_tier not in FULL_TIERS:
            raise BackendConfigError(f"--full-tier must be {' or '.join(FULL_TIERS)}, got {self.full_tier!r}")
        if self.full_epochs < 1 or self.full_min_steps < 0 or self.push_chunk < 1 or self.head < 1:
            raise BackendConfigError(
                "--full-epochs, --head and --push-chunk must be at least 1, --full-min-steps 0 or more"
            )
        for name, top in SETTING_BOUNDS.items():
            if getattr(self, name) > top:
                raise BackendConfigError(
                    f"--{name.replace('_', '-')} must be at most {top:,}, got {getattr(self, name)}"
                )
        if not 0.0 <= self.keep_replaced_s <= MAX_KEEP_REPLACED_S:
            raise BackendConfigError(
                f"--keep-replaced must be a number of seconds from 0 to {MAX_KEEP_REPLACED_S:.0f}, "
                f"got {self.keep_replaced_s}"
            )
        if not (self.promote_margin >= 0):
            raise BackendConfigError(
                f"--promote-margin must be 0 or more (inf: always promote), got {self.promote_margin}"
            )
        if not 0.0 <= self.prefill_margin <= 1.0:
            raise BackendConfigError(f"--prefill-margin must be in [0, 1], got {self.prefill_margin}")
        if not 0.0 <= self.agreement_threshold <= 1.0:
            raise BackendConfigError(f"--agreement must be in [0, 1], got {self.agreement_threshold}")
        if self.class_weight not in CLASS_WEIGHTS:
            raise BackendConfigError(
                f"--class-weight must be one of {', '.join(CLASS_WEIGHTS)}, got {self.class_weight!r}"
            )
        if not (0 < self.reconcile_s <= MAX_RECONCILE_S and 0 < self.deep_reconcile_s <= 60 * MAX_RECONCILE_S):
            raise BackendConfigError(f"--reconcile-every must be positive, at most {MAX_RECONCILE_S:.0f} s")
        from textal.strategies import get_strategy

        get_strategy(self.strategy)  # an unknown name fails at start, not in the first job
        return self

    def for_project(self, params: Mapping[str, Any] | None) -> WorkerSettings:
        """These settings with a project's own ``params`` (see ``project_params``) in place of the worker's."""
        return replace(self, **params) if params else self

    def to_dict(self) -> dict[str, Any]:
        """The settings as JSON-ready values (what the worker logs); never the API key."""
        out = asdict(self)
        out["data_dir"] = str(self.data_dir)
        out["store"] = str(self.store) if self.store else None
        out["promote_margin"] = self.promote_margin if math.isfinite(self.promote_margin) else "inf"
        out["label_studio"] = {"url": self.label_studio.url, "api_key": "set" if self.label_studio.api_key else None}
        return out


def _positive_float(env: Environ, name: str, default: float, whole: bool = False) -> float:
    """textal's one rule for a number in the environment (no nan, no inf, above zero), as a BackendConfigError."""
    return positive_number(name, default, env, whole=whole, error=BackendConfigError)


def project_params(extra: Mapping[str, Any]) -> dict[str, Any]:
    """The project settings in ``extra`` (a recipe's, or /setup's extra_params), checked like the worker's flags;
    raises BackendConfigError naming the first unknown key or bad value. ``strategy`` is left to the caller."""
    params: dict[str, Any] = {}
    for key, value in extra.items():
        if key == "strategy":
            continue
        kind = PROJECT_PARAMS.get(key)
        if kind is None:
            allowed = ", ".join(["strategy", *PROJECT_PARAMS])
            raise BackendConfigError(f"unknown project setting {key!r}; allowed: {allowed}")
        if key in CHOICE_PARAMS:
            if value not in CHOICE_PARAMS[key]:
                raise BackendConfigError(
                    f"project setting {key!r} must be one of {', '.join(CHOICE_PARAMS[key])}, got {value!r}"
                )
            params[key] = value
            continue
        if kind is str:
            if not isinstance(value, str) or (value != DEFAULT_ENCODER and not Path(value).is_dir()):
                raise BackendConfigError(
                    f"project setting {key!r} must be {DEFAULT_ENCODER!r} or a model folder on the "
                    f"worker's machine, got {value!r}"
                )
            params[key] = value
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or (kind is int and not isinstance(value, int))
        ):
            raise BackendConfigError(
                f"project setting {key!r} must be {'an integer' if kind is int else 'a number'}, got {value!r}"
            )
        try:
            WorkerSettings(data_dir=Path(".")).for_project({key: kind(value)}).check()
        except BackendConfigError as exc:
            raise BackendConfigError(f"project setting {key!r}: {exc}") from None
        params[key] = kind(value)
    return params
