"""Run the retrain worker: what ``textal worker`` runs. The huey consumer for the data folder's queue, plus
the reconciler thread.

The consumer polls SQLite every 0.05-0.5 s when idle (huey's default backs off to 10 s, which would
add up to 10 s to the label-to-refresh latency); on Redis it blocks on the queue. SIGINT stops it
after the running jobs finish, SIGTERM at once; a job cut short leaves its lease behind, and the
next worker to start breaks it and runs the job again.
"""

from __future__ import annotations

import logging
import threading

from ml_backend.config import (
    LABEL_STUDIO_KEY_ENV,
    LABEL_STUDIO_URL_ENV,
    WorkerSettings,
    idle_threads_sleep,
)
from ml_backend.errors import BackendConfigError
from ml_backend.queue.factory import make_huey
from ml_backend.queue.jobs import Jobs
from ml_backend.state.projects import ProjectRegistry

log = logging.getLogger("ml_backend.worker")


def run_worker(settings: WorkerSettings, workers: int = 1, log_level: str = "info") -> None:
    """Consume the queue of ``settings.data_dir`` with ``workers`` threads until stopped."""
    idle_threads_sleep()
    if workers < 1:
        raise BackendConfigError(f"--workers must be at least 1, got {workers}")
    settings.check()  # bad settings: one line and exit 2, before anything starts
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("huey").setLevel(max(logging.WARNING, logging.getLogger().level))
    logging.getLogger("httpx").setLevel(logging.WARNING)

    # imported only now: they load torch, which must see OMP_WAIT_POLICY
    from ml_backend.worker.context import WorkerContext
    from ml_backend.worker.reconcile import Reconciler
    from ml_backend.worker.runner import ProjectJobs

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    huey = make_huey(settings.data_dir, settings.queue_url)
    jobs = Jobs(huey)
    ctx = WorkerContext(settings, jobs)
    check_api_key(settings, ctx.registry)
    jobs.runner = ProjectJobs(ctx)
    reconciler = Reconciler(ctx)
    for pid in ctx.registry.ids():  # said once at start: the worker leaves these alone until they are set up again
        record = ctx.given_up(pid)
        if record is not None:
            log.warning(
                "project %s: given up at %s: %s. %s.", pid, record.get("at"), record.get("reason"), record.get("action")
            )
    recovered = reconciler.recover()
    log.info(
        "textal worker: data %s, queue %s, %d worker thread(s), recovered %d job(s); settings %s",
        settings.data_dir,
        "redis" if settings.queue_url else settings.data_dir / "queue.db",
        workers,
        len(recovered),
        {k: v for k, v in settings.to_dict().items() if k not in ("data_dir", "queue_url")},
    )
    stop = threading.Event()
    thread = threading.Thread(target=reconciler.run, args=(stop,), name="textal-reconcile", daemon=True)
    thread.start()
    consumer = huey.create_consumer(
        workers=workers,
        worker_type="thread",
        initial_delay=0.05,
        backoff=1.15,
        max_delay=0.5,
        periodic=False,
        scheduler_interval=1,
        check_worker_health=True,
    )
    try:
        consumer.run()
    finally:
        stop.set()


def check_api_key(settings: WorkerSettings, registry: ProjectRegistry) -> None:
    """Refuse to start with a malformed ``LABEL_STUDIO_URL`` or a ``LABEL_STUDIO_API_KEY`` that Label Studio refuses
    (one line, exit 2 from the CLI)."""
    from ml_backend.labelstudio.client import (
        NotLabelStudio,
        Studio,
        StudioError,
        StudioUnavailable,
        url_problem,
    )

    override = settings.label_studio.url
    if override and (problem := url_problem(override)) is not None:
        raise BackendConfigError(f"{LABEL_STUDIO_URL_ENV} {override!r} is malformed: {problem}")
    key = settings.label_studio.api_key
    if not key:
        return
    urls = (
        {override}
        if override
        else {
            state.hostname
            for state in (registry.get(pid) for pid in registry.ids())
            if state is not None and state.hostname
        }
    )
    for url in sorted(u for u in urls if u):
        if url_problem(url) is not None:  # a project's own malformed URL: its jobs give that project up
            continue
        try:
            Studio(url, key).check_key()
        except NotLabelStudio as exc:
            raise BackendConfigError(f"{LABEL_STUDIO_URL_ENV}: {exc}") from None
        except StudioError:
            raise BackendConfigError(
                f"Label Studio at {url} refuses {LABEL_STUDIO_KEY_ENV}: give a valid key (Account & Settings, "
                f"Access Token), or unset it to use the token Label Studio sent when the backend was connected"
            ) from None
        except StudioUnavailable as exc:
            log.warning("could not check %s against Label Studio at %s: %s", LABEL_STUDIO_KEY_ENV, url, exc)
