"""Label Studio ML backend for textal: predictions and scores from the latest model, webhooks onto a queue.

Modules (one concept each)::

    app.py          the ASGI app: /, /health, /setup, /predict, /webhook, /versions (FastAPI)
    server.py       serve(): what `textal serve` runs (uvicorn)
    settings.py     flags + environment (basic auth, queue URL, size limits)
    guards.py       ASGI middleware: basic auth, request body cap
    labelconfig.py  label config -> TaskSchema (label-studio-sdk's LabelInterface)
    projects.py     per-project state in the data folder (layout below)
    serving.py      model slots: load a published version fully, then swap it in (hot swap)
    predict.py      tasks -> results: text per task, batched predictions, per-task skips
    scoring.py      strategy informativeness -> score in [0, 1], absolute across requests
    clusters.py     cluster id per task, fixed per model version
    queue.py        huey: SqliteHuey in the data folder, PriorityRedisHuey with TEXTAL_QUEUE_URL
    jobs.py         the queued jobs (retrain, score_tasks, finetune, prune_predictions); bodies live in worker.py

The retrain worker (``textal worker``)::

    consumer.py     run_worker(): the huey consumer plus the reconciler thread
    coalesce.py     pending marks, leases with heartbeats, backoff (in the queue's key-value store)
    worker.py       the job bodies: read Label Studio, refit, evaluate, publish, push predictions
    worker_context.py  the worker's settings (`textal worker` flags) and what its jobs share in one process
    studio.py       label-studio-sdk wrapper: tasks, annotations, predictions, views, sampling
    pool.py         the mirror of a project's tasks and annotations (SQLite)
    annotations.py  annotations -> votes per task, label-set fingerprint
    lssetup.py      sampling, Data Manager views, the evaluation slice
    refresh.py      whole-pool scores under a strategy -> predictions to push
    embeddings.py   pool embeddings: memory, disk cache, encoder
    reconcile.py    periodic reconciliation, recovery of jobs of dead workers
    workfiles.py    a project's worker folder (state, history, encoders)
    status.py       what `textal status` reports

Data folder (``--data-dir``, default ``<store>-backend``)::

    DATA/queue.db                          the job queue (SQLite)
    DATA/projects/<id>/project.json        uid, label config, TaskSchema, strategy, LS hostname
    DATA/projects/<id>/access_token        token LS sent at /setup (0600)
    DATA/projects/<id>/store/              the project's own ModelStore (the worker publishes here)
    DATA/projects/<id>/worker/             the worker's state, pool mirror, history (ml_backend.workfiles)
    DATA/embeddings/                       the embedding cache shared by the projects

A project is served from its own store once that has a version (``model_version`` = ``v0003``),
else from ``--store`` (``model_version`` = ``base-v0001``); ``serving.model_version_name`` says which.
"""
