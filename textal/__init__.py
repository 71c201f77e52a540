"""textal: active learning for text classification. Knows nothing of HTTP, queues or Label Studio.

Packages by concern, top to bottom (each imports only those below it; ``lint-imports`` holds the rule)::

    cli/         the ``textal`` command: train, score, versions, simulate, review, strategies
    reports/     what a simulation and a review write and print
    loop/        the loop offline: simulation learners, simulated annotators, the simulation, curves
    training/    train and publish, the fast tier's refit, promotion   | ranking/  a pool ranked on one scale
    store/       published versions (data only) and a project's history
    quality/     calibration, agreement, label review, annotator quality, stopping rules
    models/      classifiers, encoders, committees, metrics, class weights | strategies/  query strategies
    data/        bounded readers into a Corpus, export writers
    runtime/     the one reader of the environment, progress, logs, threads, crash-safe files
    errors.py    the errors a user can fix

ARCHITECTURE.md at the project root says why each package sits where it does.
"""

__version__ = "0.1.0"
