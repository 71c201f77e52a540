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
    queue.py        huey: SqliteHuey in the data folder, RedisHuey with TEXTAL_QUEUE_URL
    jobs.py         the queued jobs (retrain, score_tasks); bodies live in worker.py

Data folder (``--data-dir``, default ``<store>-backend``)::

    DATA/queue.db                          the job queue (SQLite)
    DATA/projects/<id>/project.json        uid, label config, TaskSchema, strategy, LS hostname
    DATA/projects/<id>/access_token        token LS sent at /setup (0600)
    DATA/projects/<id>/store/              the project's own ModelStore (the worker publishes here)

A project is served from its own store once that has a version (``model_version`` = ``v0003``),
else from ``--store`` (``model_version`` = ``base-v0001``); ``serving.model_version_name`` says which.
"""
