"""`textal ...`: the terminal side of textal. Thin: parse arguments, call the library, print.

Exit codes: 0 ok, 2 bad input (one readable line on stderr), 1 internal error.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import Annotated

import typer

from textal.cli.console import RichReporter, err, fail, out
from textal.errors import TextalError
from textal.models.class_weights import DEFAULT_CLASS_WEIGHT
from textal.models.fine_tune_schedule import DEFAULT_FULL_EVERY, DEFAULT_FULL_TIER
from textal.runtime import progress
from textal.runtime.settings import debug_enabled
from textal.store.training_rows import MAX_TRAINING_ROWS
from textal.strategies.default import DEFAULT_STRATEGY

app = typer.Typer(
    help="Active learning for text classification: train, score a pool, simulate, serve Label Studio.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

TextCol = Annotated[
    str | None, typer.Option("--text-col", help="Column holding the text (default: text, sentence, ...).")
]
LabelCol = Annotated[
    str | None, typer.Option("--label-col", help="Column holding the label (default: label, category, ...).")
]
StoreOpt = Annotated[Path, typer.Option("--store", help="Model store folder.")]

MODEL_HELP = (
    "transformer (default MiniLM, fine-tuned), linear (TF-IDF + logistic regression), spacy (spaCy textcat), "
    "embed-head (frozen MiniLM + logistic head), or a local model directory / hub id to fine-tune."
)


HEAD_KINDS = ("linear", "embed-head")  # the models whose logistic head weighs classes


def _class_weight_option(model: str, class_weight: str | None) -> str | None:
    """``--class-weight`` as scikit-learn's value for ``--model`` (None: unweighted); refused with one line for a
    model without a logistic head, unless it is ``none``."""
    from textal.models.class_weights import class_weight_param

    if model not in HEAD_KINDS:
        if class_weight not in (None, "none"):
            raise TextalError(f"--class-weight applies to {' and '.join(HEAD_KINDS)}, not {model}")
        return None
    return class_weight_param(DEFAULT_CLASS_WEIGHT if class_weight is None else class_weight)


def _precision_option(model: str, precision: str | None) -> str | None:
    """``--precision`` checked for ``--model``: a transformer or embed-head (a model folder is a transformer)."""
    from textal.models import MODEL_KINDS
    from textal.models.precision import check_precision

    if precision is None:
        return None
    check_precision(precision)
    if model in MODEL_KINDS and model not in ("transformer", "embed-head"):
        raise TextalError(f"--precision applies to transformer and embed-head, not {model}")
    return precision


def _model_from_option(
    model: str,
    classes: list[str],
    multi_label: bool,
    seed: int,
    epochs: int | None,
    class_weight: str | None = None,
    precision: str | None = None,
):
    """A classifier for ``--model``: a kind name, else a transformer over that local dir or hub id."""
    from textal.models import MODEL_KINDS, make_classifier

    params: dict = {"classes": classes, "multi_label": multi_label}
    kind = model
    if model not in MODEL_KINDS:
        kind = "transformer"
        params["model"] = model
    if kind in ("transformer", "spacy"):
        params["seed"] = seed
        if epochs is not None:
            params["epochs"] = epochs
    elif kind in HEAD_KINDS:
        params["random_state"] = seed
        params["class_weight"] = class_weight
    if precision is not None:
        params["precision"] = precision
    classifier = make_classifier(kind, **params)
    if kind == "transformer":
        from textal.models.hf import resolve_model_source

        resolve_model_source(params.get("model", "default"))  # fail fast on an unreachable hub id
    return classifier


@app.command()
def train(
    data: Annotated[Path, typer.Argument(help="Labelled training file (CSV, TSV, JSONL, Parquet, HF dataset folder).")],
    store: StoreOpt,
    model: Annotated[str, typer.Option("--model", help=MODEL_HELP)] = "transformer",
    eval_file: Annotated[
        Path | None, typer.Option("--eval", help="Labelled evaluation file (never trained on).")
    ] = None,
    holdout: Annotated[float, typer.Option(help="Without --eval: fraction of DATA held out for evaluation.")] = 0.1,
    text_col: TextCol = None,
    label_col: LabelCol = None,
    multi_label: Annotated[bool, typer.Option("--multi-label", help="Several labels per text.")] = False,
    label_sep: Annotated[str, typer.Option(help="Separator of labels in one cell, with --multi-label.")] = "|",
    dedupe: Annotated[str, typer.Option(help="Drop duplicate training texts: none, exact, near.")] = "none",
    epochs: Annotated[int | None, typer.Option(help="Training epochs (transformer, spacy).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    class_weight: Annotated[
        str | None,
        typer.Option(
            "--class-weight",
            help="Weigh classes in the logistic head (linear, embed-head): balanced or none "
            f"(default: the worker's, {DEFAULT_CLASS_WEIGHT}).",
        ),
    ] = None,
    keep_texts: Annotated[
        bool,
        typer.Option(
            "--keep-texts/--no-keep-texts",
            help="Keep the training texts and labels in the version (a stratified sample past "
            f"{MAX_TRAINING_ROWS:,}), so that a Label Studio project using it as its base model learns from them "
            "as well as from its own labels.",
        ),
    ] = True,
    precision: Annotated[
        str | None,
        typer.Option(
            "--precision",
            help="transformer, embed-head: the number format it embeds and predicts in, here and when served: auto "
            "(bf16 where the CPU or GPU has it, else fp32; the default), fp32, bf16, int8 (CPU). Training keeps fp32.",
        ),
    ] = None,
) -> None:
    """Train a classifier on DATA, print its metrics, publish it as a new version in the store."""
    from textal.data.corpus import Corpus, load_corpus
    from textal.store.model_store import ModelStore
    from textal.training.train_corpus import check_trainable, holdout_split, train_and_publish

    if not 0 <= holdout < 1:
        raise TextalError("--holdout must be in [0, 1)")
    weights = _class_weight_option(model, class_weight)  # bad values fail before the data is read
    precision = _precision_option(model, precision)
    corpus = load_corpus(data, text_col, label_col, multi_label=multi_label, label_sep=label_sep, dedupe=dedupe)
    evaluation: Corpus | None
    if eval_file is not None:
        evaluation = load_corpus(eval_file, text_col, label_col, multi_label=multi_label, label_sep=label_sep)
        training = corpus
    else:
        training, evaluation = holdout_split(corpus, holdout, seed)
    check_trainable(training)  # before a model is built (a transformer loads weights): one label teaches nothing
    classes = sorted(set(corpus.label_set) | set(evaluation.label_set if evaluation else ()))
    classifier = _model_from_option(model, classes, multi_label, seed, epochs, weights, precision)
    err.print(f"Training {model} on {len(training)} texts ({len(classes)} labels)...")
    with progress.reporting(RichReporter()):
        report = train_and_publish(
            classifier, training, ModelStore(store), evaluation, card={"model_option": model}, keep_rows=keep_texts
        )
    if report.metrics is not None:
        figures = ", ".join(f"{k} {v:.4f}" for k, v in report.metrics.items() if k != "n")
        out.print(f"Evaluation on {report.eval_size} texts ({report.eval_source}): {figures}")
    else:
        out.print("No evaluation data (use --eval or --holdout): no metrics.")
    out.print(f"Trained in {report.seconds:.1f} s. Published version {report.version} to {store}")


@app.command()
def score(
    pool: Annotated[Path, typer.Argument(help="File of texts to score (labels, if any, are ignored).")],
    store: StoreOpt,
    version: Annotated[str | None, typer.Option(help="Version to use (default: latest).")] = None,
    top_k: Annotated[int, typer.Option("--top-k", help="How many of the most informative texts to print.")] = 20,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write every text, ranked, to this CSV.")] = None,
    strategy: Annotated[
        str, typer.Option(help="Query strategy (`textal strategies`); by default the one Label Studio projects use.")
    ] = DEFAULT_STRATEGY,
    batch: Annotated[
        int | None,
        typer.Option("--batch", help="Size of the strategy's next batch, ranked first (default: --top-k)."),
    ] = None,
    text_col: TextCol = None,
    precision: Annotated[
        str | None,
        typer.Option(
            "--precision",
            help="A transformer's number format: auto (bf16 where the CPU or GPU has it, else fp32), fp32, bf16, "
            "int8 (CPU). Default: the model's own, auto. Agreement with fp32 in benchmarks/predict_throughput.",
        ),
    ] = None,
    chunk_size: Annotated[
        int | None,
        typer.Option(
            "--chunk-size", help="Texts read and scored at a time (some thousands by default); memory grows with it."
        ),
    ] = None,
) -> None:
    """Score every text of POOL with a published model, most informative first.

    The ranking follows the strategy's batch rules, as the label stream in Label Studio does: its next
    batch first (without the random share), then the rest by informativeness, near-duplicates of a
    text ranked higher last. POOL is read a chunk at a time and the scores spill to a scratch folder under TMPDIR,
    so a pool larger than memory scores in bounded memory. Under `accelerate launch` the chunks are shared
    among its processes (or GPUs) and the main process writes the result.
    """
    from textal.models.precision import check_precision
    from textal.ranking.parallel import is_main_process, rank_file_in_processes
    from textal.ranking.ranked_pool import DEFAULT_CHUNK, rank_file
    from textal.runtime.settings import launched_processes
    from textal.store.model_store import ModelStore

    if top_k < 0:
        raise TextalError("--top-k must be 0 or more")
    if chunk_size is not None and chunk_size < 1:
        raise TextalError("--chunk-size must be 1 or more")
    if batch is not None and batch < 0:
        raise TextalError("--batch must be 0 or more")
    chunk_size = chunk_size or DEFAULT_CHUNK
    model_store = ModelStore(store)
    chosen = version or model_store.latest()
    model = model_store.load(chosen)
    if precision is not None:
        check_precision(precision)
        if "precision" not in model.get_params():
            raise TextalError(f"--precision applies to transformer models; version {chosen} is a {model.kind} model")
        model.set_params(precision=precision)
    batch = top_k if batch is None else batch
    trained_on = model_store.card(chosen).get("training_size") if chosen else None
    trained_on = trained_on if isinstance(trained_on, int) else None  # hybrid's schedule reads labels per class
    processes = launched_processes()
    if processes > 1:
        with progress.reporting(RichReporter() if is_main_process() else progress.QUIET):
            ranked = rank_file_in_processes(
                model, pool, strategy, text_col, chunk_size, batch=batch, trained_on=trained_on
            )
        if ranked is None:  # not the main process: it writes the result
            return
        out.print(f"Scored by {processes} processes")
    else:
        with progress.reporting(RichReporter()):
            ranked = rank_file(model, pool, strategy, text_col, chunk_size, batch=batch, trained_on=trained_on)
    with ranked as ranking:
        if out_file is not None:
            ranking.write_csv(out_file)
        _print_ranking(ranking, top_k, chosen or "?")
        if out_file is not None:
            out.print(f"Wrote {len(ranking)} ranked texts to {out_file}")


def _print_ranking(ranking, top_k: int, version: str) -> None:
    from rich.table import Table

    if top_k == 0:
        return
    table = Table(title=f"{min(top_k, len(ranking))} most informative texts ({ranking.strategy}, model {version})")
    table.add_column("#", justify="right")
    table.add_column("row", justify="right")
    table.add_column("guess")
    table.add_column("p(guess)", justify="right")
    table.add_column(ranking.strategy, justify="right")
    table.add_column("text", overflow="fold")
    for item in ranking.ranked(stop=top_k):
        text = item.text.replace("\n", " ")
        table.add_row(
            str(item.rank),
            str(item.row),
            item.guess,
            f"{float(item.proba.max()):.3f}",
            f"{item.score:.3f}",
            text if len(text) <= 120 else text[:117] + "...",
        )
    out.print(table)


@app.command()
def versions(store: StoreOpt) -> None:
    """List the versions in a model store, newest last, with their held-out metrics."""
    from rich.table import Table

    from textal.store.model_store import ModelStore

    model_store = ModelStore(store)
    names = model_store.versions()
    if not names:
        raise TextalError(f"{store}: no published versions")
    latest = model_store.latest()
    table = Table(title=f"Model store {store}")
    for col in ("version", "created (UTC)", "model", "labels", "trained on", "macro-F1", "accuracy", "parent", ""):
        table.add_column(col, no_wrap=True)
    for name in names:
        card = model_store.card(name)
        metrics = card.get("metrics") or {}
        table.add_row(
            name,
            str(card.get("created_at", ""))[:16].replace("T", " "),
            str(card.get("model_option", card.get("kind", ""))),
            str(len(card.get("labels", []))),
            str(card.get("training_size", "")),
            f"{metrics['macro_f1']:.4f}" if "macro_f1" in metrics else "-",
            f"{metrics['accuracy']:.4f}" if "accuracy" in metrics else "-",
            str(card.get("parent") or "-"),
            "latest" if name == latest else "",
        )
    out.print(table)


store_app = typer.Typer(
    help="Model store upkeep.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.add_typer(store_app, name="store")


@store_app.command("convert")
def store_convert(
    store: Annotated[Path, typer.Argument(help="Model store folder whose versions an older textal saved as pickles.")],
    trust_pickles: Annotated[
        bool,
        typer.Option(
            "--trust-pickles",
            help="Unpickle its files to convert them: a pickle "
            "runs any code it holds, so only for a store you made or trust.",
        ),
    ] = False,
) -> None:
    """Rewrite a store's pickled versions (linear.joblib, head.joblib) as data (JSON + .npz), in place."""
    from textal.store.model_store import ModelStore

    if not trust_pickles:
        raise TextalError(
            "converting unpickles the store's files, and a pickle runs any code it holds: add "
            "--trust-pickles only for a store you made or trust"
        )
    converted = ModelStore(store).convert_pickles()
    for version, files in converted:
        out.print(f"{version}: converted {', '.join(files)} to data", markup=False)
    out.print(
        f"Converted {len(converted)} version(s) of {store}"
        if converted
        else f"{store}: nothing to convert (no pickles from an older textal)",
        markup=False,
    )


@app.command()
def strategies() -> None:
    """List the query strategies by their versioned names."""
    from textal.strategies import list_strategies

    for name, description in list_strategies():
        out.print(f"{name:<22} {description}")


@app.command()
def simulate(
    data: Annotated[Path, typer.Argument(help="Labelled pool: gold labels play the annotator.")],
    test: Annotated[Path, typer.Option("--test", help="Labelled test file the curves are measured on.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for results.json, CSVs and PNG figures.")],
    strategies: Annotated[str, typer.Option(help="Comma-separated strategy names (see `textal strategies`).")] = (
        "random,entropy,margin,vote_entropy,hybrid"
    ),
    seed_size: Annotated[int, typer.Option("--seed-size", help="Labels before the first round.")] = 50,
    batch: Annotated[int, typer.Option(help="Labels per round.")] = 50,
    budget: Annotated[int, typer.Option(help="Total labels, seed included.")] = 1000,
    repeats: Annotated[int, typer.Option(help="Repeats with different seed sets.")] = 5,
    model: Annotated[
        str,
        typer.Option(
            "--model",
            help="embed-head (frozen MiniLM + logistic head), two-tier (the "
            "worker's loop: that head every round, a full fine-tune every "
            "--full-every labels), linear, spacy, transformer (fine-tunes "
            "every round: for a GPU).",
        ),
    ] = "embed-head",
    label_noise: Annotated[
        float, typer.Option("--label-noise", help="Share of the simulated annotator's answers that are wrong.")
    ] = 0.0,
    noise_kind: Annotated[
        str,
        typer.Option(
            "--noise-kind",
            help="uniform (any other class) or confusable (the class the full-data model confuses most).",
        ),
    ] = "uniform",
    review_budget: Annotated[
        float,
        typer.Option(
            "--review-budget", help="Share of the labels a review may re-ask, most suspicious first (cleanlab)."
        ),
    ] = 0.0,
    annotators: Annotated[
        int,
        typer.Option(
            "--annotators", help="Simulated annotators labelling every asked text (votes resolved by majority)."
        ),
    ] = 1,
    poor_annotator: Annotated[
        float | None,
        typer.Option("--poor-annotator", help="The first annotator's error rate (the others': --label-noise)."),
    ] = None,
    weigh_annotators: Annotated[
        bool,
        typer.Option(
            "--weigh-annotators",
            help="Weigh each annotator's votes by their estimated quality (cleanlab) instead of the majority.",
        ),
    ] = False,
    review_holdout: Annotated[
        bool, typer.Option("--review-holdout", help="Keep the labels the review flags out of training until re-asked.")
    ] = False,
    full_every: Annotated[
        int | None,
        typer.Option(
            "--full-every",
            help=f"two-tier: labels between full tiers (default: the worker's, {DEFAULT_FULL_EVERY}).",
        ),
    ] = None,
    precision: Annotated[
        str | None,
        typer.Option(
            "--precision",
            help="embed-head, two-tier, transformer: the encoder's number format: auto (bf16 where the CPU or GPU "
            "has it, else fp32; the default), fp32, bf16, int8 (CPU).",
        ),
    ] = None,
    full_tier: Annotated[
        str | None,
        typer.Option(
            "--full-tier",
            help=f"two-tier: contrastive or plain (default: the worker's, {DEFAULT_FULL_TIER}).",
        ),
    ] = None,
    random_fraction: Annotated[
        float | None, typer.Option(help="Share of random picks per batch (default: each strategy's, 0.1).")
    ] = None,
    cold_start: Annotated[
        str, typer.Option(help="Seed set: random, or coverage (k-means over embeddings).")
    ] = "random",
    eval_fraction: Annotated[float, typer.Option(help="Pool slice held out for the stopping rules' metric.")] = 0.1,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same numbers.")] = 0,
    cache_dir: Annotated[Path | None, typer.Option(help="Embedding cache (default ~/.cache/textal).")] = None,
    text_col: TextCol = None,
    label_col: LabelCol = None,
    multi_label: Annotated[bool, typer.Option("--multi-label", help="Several labels per text.")] = False,
    class_weight: Annotated[
        str | None,
        typer.Option(
            "--class-weight",
            help="Weigh classes in the logistic head "
            "(embed-head, linear): balanced or none (default: the worker's, "
            "balanced).",
        ),
    ] = None,
    committee: Annotated[
        str | None,
        typer.Option(
            "--committee",
            help="Votes for the committee strategies (vote_entropy, kl_consensus): bootstrap heads (embed-head, "
            "two-tier), mc-dropout passes (transformer), or mixed (an embedding head, TF-IDF linear and spaCy "
            "refit each round; any model). Default: the model's own.",
        ),
    ] = None,
) -> None:
    """Simulate strategies on labelled data: learning curves, labels saved against random, stopping points."""
    import shlex

    from textal.data.corpus import load_corpus
    from textal.loop.learner_kinds import check_committee, check_full_every, make_learner
    from textal.loop.simulate import SimulationSettings, summarise
    from textal.loop.simulate import simulate as run_simulation
    from textal.models.class_weights import class_weight_param
    from textal.reports.simulation_results import write_report

    class_weight_param(class_weight)  # bad values fail before the data is read
    check_full_every(model, full_every, full_tier)
    check_committee(model, committee)
    settings = SimulationSettings(
        strategies=[s.strip() for s in strategies.split(",") if s.strip()],
        seed_size=seed_size,
        batch=batch,
        budget=budget,
        repeats=repeats,
        seed=seed,
        random_fraction=random_fraction,
        cold_start=cold_start,
        eval_fraction=eval_fraction,
        label_noise=label_noise,
        noise_kind=noise_kind,
        review_budget=review_budget,
        review_holdout=review_holdout,
        annotators=annotators,
        poor_annotator=poor_annotator,
        weigh_annotators=weigh_annotators,
    )
    pool = load_corpus(data, text_col, label_col, multi_label=multi_label)
    settings.check(len(pool))
    test_corpus = load_corpus(test, text_col, label_col, multi_label=multi_label)
    labels = sorted(set(pool.label_set) | set(test_corpus.label_set))
    with progress.reporting(RichReporter()):
        learner = make_learner(
            model,
            pool.texts,
            test_corpus.texts,
            labels,
            multi_label,
            seed,
            cache_dir,
            class_weight=class_weight,
            full_every=full_every,
            committee=committee,
            full_tier=full_tier,
            precision=precision,
        )
        result = run_simulation(learner, pool, test_corpus, settings)
    summary = summarise(result)
    command = "textal " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    paths = write_report(result, summary, out_dir, command=command)
    _print_summary(summary)
    out.print(f"Wrote {', '.join(p.name for p in paths)} to {out_dir}")


@app.command()
def review(
    data: Annotated[Path, typer.Argument(help="Labelled file whose labels may hold mistakes.")],
    out_file: Annotated[Path, typer.Option("--out", help="CSV of every labelled row, the likeliest mistakes first.")],
    model: Annotated[
        str,
        typer.Option(
            "--model", help="embed-head (frozen MiniLM + logistic head) or linear (TF-IDF + logistic regression)."
        ),
    ] = "embed-head",
    folds: Annotated[
        int, typer.Option(help="Cross-validation folds: each row is judged by a model that never saw it.")
    ] = 5,
    top_k: Annotated[int, typer.Option("--top-k", help="How many of the likeliest mistakes to print.")] = 10,
    text_col: TextCol = None,
    label_col: LabelCol = None,
    multi_label: Annotated[bool, typer.Option("--multi-label", help="Several labels per text.")] = False,
    label_sep: Annotated[str, typer.Option(help="Separator of labels in one cell, with --multi-label.")] = "|",
    seed: Annotated[int, typer.Option(help="Random seed of the folds and models.")] = 0,
    cache_dir: Annotated[Path | None, typer.Option(help="Embedding cache (default ~/.cache/textal).")] = None,
) -> None:
    """Rank the labelled rows of DATA by how likely their label is wrong (cleanlab), with the label to suggest."""
    from textal.data.corpus import load_corpus
    from textal.quality.label_review import check_review_model, review_corpus
    from textal.reports.review_listing import print_review, write_review

    check_review_model(model)  # before the file is read
    if folds < 2:
        raise TextalError("--folds must be at least 2")
    corpus = load_corpus(data, text_col, label_col, multi_label=multi_label, label_sep=label_sep)
    labels = corpus.labels
    assert labels is not None  # load_corpus requires the label column
    classes = sorted(corpus.label_set)
    if len(classes) < 2:
        raise TextalError(f"{data} holds a single label ({classes[0] if classes else 'none'}): nothing to tell apart")
    err.print(f"Reviewing {len(corpus)} labels ({len(classes)} classes) with {folds}-fold {model}...")
    with progress.reporting(RichReporter()):
        result = review_corpus(
            corpus.texts, labels, classes, multi_label, model=model, folds=folds, seed=seed, cache_dir=cache_dir
        )
    write_review(out_file, corpus, classes, result)
    print_review(out, corpus, classes, result, top_k)
    out.print(f"Wrote {len(corpus)} rows, the likeliest mistakes first, to {out_file}")


def _print_summary(summary: dict) -> None:
    from rich.table import Table

    targets = [f"{t:.2f}" for t in summary["targets"]]
    table = Table(title=f"Simulation (full-data macro-F1 {summary['full_data_macro_f1']:.4f})")
    for col in ("strategy", "AUC", *[f"labels to {float(t) * 100:.0f} %" for t in targets], "saved vs random @98 %"):
        table.add_column(col, no_wrap=True)
    for name, entry in sorted(summary["strategies"].items(), key=lambda kv: -kv[1]["auc"]):
        reach = [str(entry["labels_to"][t]) if entry["labels_to"][t] is not None else "not reached" for t in targets]
        saving = (entry.get("saving_vs_random") or {}).get(targets[-1])
        saved = "-" if saving is None else f"{'>= ' if saving['at_least'] else ''}{saving['percent']} %"
        table.add_row(name, f"{entry['auc']:.4f}", *reach, saved)
    out.print(table)


_plugins_loaded = False


def _load_plugins() -> None:
    """Add the commands other packages register under the ``textal.commands`` entry-point group
    (``ml_backend`` adds serve, worker, retrain, status), so textal itself never imports them."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    from importlib.metadata import entry_points

    for entry in entry_points(group="textal.commands"):
        entry.load()(app)
    _plugins_loaded = True


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the app, map errors to exit codes and one readable line."""
    try:
        _load_plugins()
        app(args=argv, prog_name="textal")  # typer itself answers usage errors with exit 2
    except TextalError as exc:
        fail(str(exc), 2)
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except Exception as exc:  # an internal error: one line, the traceback only on request
        if debug_enabled():
            traceback.print_exc()
        fail(f"internal error: {type(exc).__name__}: {exc} (set TEXTAL_DEBUG=1 for the traceback)", 1)


if __name__ == "__main__":
    main()
