"""Label Studio side of textal: the ML backend (``textal serve``) and the retrain worker (``textal worker``).

Packages, top to bottom (each imports only those below it; ``lint-imports`` holds the rule)::

    commands.py   the serve / worker / retrain / status commands of the ``textal`` CLI
    server/       the HTTP process: ASGI app, request guards, model slots, start-up
    worker/       the worker process: consumer, job bodies, Label Studio sync, fast tier, fine-tune, publishing
    queue/        huey, leases and coalescing, the job registry (runs an injected job runner)
    scoring/      the one scoring path: loaded models, informativeness -> Label Studio score, clusters
    state/        the data folder: project registry, pool mirror, work files, status
    labelstudio/  Label Studio's formats and API: label config, client, annotations, the prediction builder
    config.py     the only reader of the environment; every default defined once

ARCHITECTURE.md at the project root draws the two processes and the data folder.
"""
