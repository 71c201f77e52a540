"""The first hour of a project: does the model Label Studio serves build on the base model, and never get worse?

Starts a real Label Studio, then, for each variant, `textal serve` and `textal worker` over a base
model and a project. A simulated annotator labels the task Label Studio's label stream serves
next, with its gold label, and waits for the worker to catch up. After every label the served
model is measured: /predict over every evaluation-slice task, macro-F1 against the gold labels
(the whole slice, labelled or not: the benchmark knows every answer).

Scenarios (``--dataset``):

- ``sms``: a linear base model `textal train` fitted on 300 SMS (``--no-base``: none), a project of
  1,000 SMS tasks (test split, labels left out).
- ``banking77-shifted``: an embed-head base model trained on the BANKING77 training texts of only
  ``--base-intents`` of its 77 intents (the first ones by name), a project of the 3,080 test texts of all
  77. Also measured: macro-F1 on the slice tasks of the base's intents (do they keep the base's
  quality?), and for each new intent the label at which its first label arrived and the first label at
  which the served model answered it right on one of its slice tasks.

Variants (``--variants``): the interleaved slice (``--eval-every 3``, the default), the slice served
first (``--eval-every 0``), and, with ``--before DIR``, the serve and worker of another checkout run
from it (``python -m textal`` with that checkout first on PYTHONPATH).

    .venv/bin/python -m benchmarks.first_hour.run --labels 90 --variants interleaved,before --before ../before \
        --out benchmarks/first_hour/sms_base.json --figure benchmarks/first_hour/sms_base.png
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import httpx
from sklearn.metrics import f1_score

from benchmarks.ls_stack import (
    DATA,
    choice,
    free_port,
    start_label_studio,
    start_serve,
    start_worker,
    stop_process,
    textal_env,
    wait,
    wait_for_serve,
)
from benchmarks.machine import cpu_name
from benchmarks.machine import git_commit as commit_at

REPO = Path(__file__).resolve().parents[2]

BASE_TRAIN = 300
WORKER_ARGS = ["--full-every", "0"]
TEXTAL = [sys.executable, "-m", "textal"]  # the code on PYTHONPATH first: this checkout's, or --before's


def rows(folder: str, split: str, start: int = 0, n: int | None = None) -> list[dict[str, str]]:
    """Rows of a shared dataset's split as {"text", "label"}."""
    with open(DATA / folder / f"{split}.csv", newline="") as fh:
        read = [{"text": r["text"], "label": r.get("label") or r["category"]} for r in csv.DictReader(fh)]
    return read[start : None if n is None else start + n]


def label_config(labels: list[str]) -> str:
    choices = "".join(f'<Choice value="{label}"/>' for label in labels)
    control = f'<Choices name="label" toName="text" choice="single">{choices}</Choices>'
    return f'<View><Text name="text" value="$text"/>{control}</View>'


@dataclass
class Scenario:
    """A base model's training rows and how it is trained, and the project's tasks with their gold labels."""

    name: str
    labels: list[str]
    base_rows: list[dict[str, str]]
    base_model: str
    pool: list[dict[str, str]]
    old: set[str] = field(default_factory=set)  # the labels the base model knew (every label: no shift)


def scenario(dataset: str, base_intents: int) -> Scenario:
    if dataset == "sms":
        return Scenario(
            "sms",
            ["ham", "spam"],
            rows("sms_spam", "train", 0, BASE_TRAIN),
            "linear",
            rows("sms_spam", "test", 0, 1000),
            {"ham", "spam"},
        )
    train, test = rows("banking77", "train"), rows("banking77", "test")
    labels = sorted({r["label"] for r in train})
    old = set(labels[:base_intents])
    return Scenario(dataset, labels, [r for r in train if r["label"] in old], "embed-head", test, old)


def worker_idle(data_dir: Path, pid: int) -> bool:
    """No retrain of the project waiting or running (the queue's own marks, read through the current code)."""
    from ml_backend.queue.factory import make_huey
    from ml_backend.queue.jobs import Jobs

    gate = Jobs(make_huey(data_dir)).gate
    return gate.pending("retrain", pid) is None and gate.lease("project", pid) is None


def run_variant(
    name: str,
    url: str,
    token: str,
    work: Path,
    eval_every: int | None,
    pythonpath: str | None,
    labels: int,
    case: Scenario,
    base_model: bool = True,
) -> dict:
    """One project through its first ``labels`` labels; returns the served model's slice figures after each."""
    from label_studio_sdk import LabelStudio

    env = textal_env(url)  # serve and worker need the Label Studio they serve
    if pythonpath:  # that checkout first: -m would put the working directory (this checkout) ahead of it
        env.update(PYTHONPATH=pythonpath, PYTHONSAFEPATH="1")
    folder = work / name
    folder.mkdir()
    base = folder / "base.csv"
    with open(base, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["text", "label"])
        writer.writeheader()
        writer.writerows(case.base_rows)
    if base_model:
        subprocess.run(
            [*TEXTAL, "train", str(base), "--model", case.base_model, "--store", str(folder / "store")],
            env=env,
            check=True,
            capture_output=True,
        )
    state, port = folder / "backend", free_port()
    args = WORKER_ARGS + (["--eval-every", str(eval_every)] if eval_every is not None else [])
    procs = [
        start_worker(state, folder / "worker.log", env, "--store", str(folder / "store"), *args, textal=TEXTAL),
        start_serve(folder / "store", state, port, folder / "serve.log", env, "--log-level", "warning", textal=TEXTAL),
    ]
    backend = f"http://127.0.0.1:{port}"
    try:
        wait_for_serve(port, folder / "serve.log")
        ls = LabelStudio(base_url=url, api_key=token, timeout=300)
        http = ls._client_wrapper.httpx_client
        project = ls.projects.create(title=f"first hour: {name}", label_config=label_config(case.labels))
        pid = project.id
        pool = case.pool
        ids = sorted(
            ls.projects.import_tasks(id=pid, request=[{"text": r["text"]} for r in pool], return_task_ids=True).task_ids
        )
        gold = {tid: r["label"] for tid, r in zip(ids, pool)}
        text = {tid: r["text"] for tid, r in zip(ids, pool)}
        ls.ml.create(url=backend, project=pid, title="textal")
        wanted = min(len(pool) // 2, max(50, len(pool) // 10))
        wait(
            lambda: (
                (not base_model or (ls.projects.get(id=pid).model_version or "").startswith("base-"))
                and len(slice_of(ls, pid)) >= wanted
            ),
            1800,
            "the project set up",
            folder / "worker.log",
            1.0,
        )
        slice_ids = slice_of(ls, pid)
        old_ids = [t for t in slice_ids if gold[t] in case.old]

        def served() -> dict:
            tasks = [{"id": t, "data": {"text": text[t]}} for t in slice_ids]  # unmarked: the guess is given
            answer = httpx.post(f"{backend}/predict", json={"tasks": tasks, "project": str(pid)}, timeout=600).json()
            guess = dict(zip(slice_ids, (first_choice(r) for r in answer["results"])))
            figures = {
                "served": answer.get("model_version") or "no-model",
                "f1": macro_f1(slice_ids, gold, guess, case.labels),
            }
            if len(old_ids) < len(slice_ids):
                figures["f1_old"] = macro_f1(old_ids, gold, guess, sorted(case.old))
                figures["right"] = sorted({gold[t] for t in slice_ids if guess[t] == gold[t]} - case.old)
            return figures

        started = served()
        if base_model:  # the base's own answers (argmax): /predict pre-fills nothing while it lacks a project label
            started.update(base_answers(folder / "store", slice_ids, old_ids, text, gold, case))
        curve, arrived = [], {}
        for n in range(1, labels + 1):
            tid = http.request(f"api/projects/{pid}/next", method="GET").json()["id"]
            ls.annotations.create(id=tid, result=choice(gold[tid]))
            if gold[tid] not in case.old:
                arrived.setdefault(gold[tid], n)
            time.sleep(0.3)
            wait(lambda: worker_idle(state, pid), 600, "the worker to catch up", folder / "worker.log", 0.2)
            point = {"labels": n, "slice": tid in slice_ids, "label": gold[tid], **served()}
            curve.append(point)
        learnt = {
            label: {
                "first_label": at,
                "answered_right_at": next((c["labels"] for c in curve if label in c.get("right", [])), None),
            }
            for label, at in arrived.items()
        }
        return {
            "base": started["served"],
            "base_f1": started["f1"],
            "base_f1_old": started.get("f1_old"),
            "base_argmax_f1": started.get("argmax_f1"),
            "base_argmax_f1_old": started.get("argmax_f1_old"),
            "slice_size": len(slice_ids),
            "slice_old": len(old_ids),
            "curve": curve,
            "new_labels": learnt,
        }
    finally:
        for proc in procs:
            stop_process(proc)


def base_answers(
    store: Path, slice_ids: list[int], old_ids: list[int], text: dict[int, str], gold: dict[int, str], case: Scenario
) -> dict:
    """The base model's macro-F1 on the slice by its most probable label, whether or not /predict would pre-fill it."""
    from textal.store.model_store import ModelStore

    model = ModelStore(store).load()
    proba = model.predict_proba([text[t] for t in slice_ids])
    guess = {t: model.labels_[int(row.argmax())] for t, row in zip(slice_ids, proba)}
    figures = {"argmax_f1": macro_f1(slice_ids, gold, guess, case.labels)}
    if len(old_ids) < len(slice_ids):
        figures["argmax_f1_old"] = macro_f1(old_ids, gold, guess, sorted(case.old))
    return figures


def slice_of(ls, pid: int) -> list[int]:
    """The project's evaluation-slice task ids, as the worker marked them."""
    return sorted(
        t.id for t in ls.tasks.list(project=pid, include="id,data", page_size=1000) if t.data.get("textal_eval") == 1
    )


def first_choice(result: dict) -> str:
    return (result.get("result") or [{}])[0].get("value", {}).get("choices", ["?"])[0]


def macro_f1(ids: list[int], gold: dict[int, str], guess: dict[int, str], labels: list[str]) -> float:
    present = sorted({gold[t] for t in ids})
    if not ids:
        return 0.0
    score = f1_score([gold[t] for t in ids], [guess[t] for t in ids], average="macro", labels=present, zero_division=0)
    return round(float(score), 4)


def drops(curve: list[dict], after: int = 10, by: float = 0.01) -> tuple[int, float]:
    """How often the served F1 fell by more than ``by`` from one label to the next after label ``after``, and the
    largest fall."""
    falls = [b["f1"] - a["f1"] for a, b in zip(curve, curve[1:]) if b["labels"] > after]
    return sum(f < -by for f in falls), round(max([0.0, *(-f for f in falls)]), 4)


def summary(name: str, result: dict) -> str:
    curve, base = result["curve"], result["base_f1"]
    beats = next((c["labels"] for c in curve if c["f1"] > base), None)
    own = next((c["labels"] for c in curve if c["served"].startswith("v")), None)
    worse = sum(c["f1"] < base - 1e-9 for c in curve)
    count, worst = drops(curve)
    at = {c["labels"]: c for c in curve}
    points = " | ".join(f"{at[n]['f1']:.3f}" if n in at else "-" for n in (10, 30, 60, 90, 120))
    slice_by_30 = sum(c["slice"] for c in curve if c["labels"] <= 30)
    return (
        f"| {name} | {base:.3f} | {own or '-'} | {beats or '-'} | {worse} | {count} ({worst:.3f}) | {slice_by_30} "
        f"| {points} |"
    )


def shifted_summary(name: str, result: dict) -> list[str]:
    """The base's intents on the slice before and after, and each new intent: when it arrived, when it was answered."""
    curve = result["curve"]
    last = curve[-1] if curve else {}
    learnt = result["new_labels"]
    delays = [v["answered_right_at"] - v["first_label"] for v in learnt.values() if v["answered_right_at"] is not None]
    lines = [
        f"- {name}: the base's intents on the slice ({result['slice_old']} tasks): "
        f"macro-F1 {result['base_argmax_f1_old']:.3f} by the base model's most probable label "
        f"({result['base_f1_old']:.3f} served: it pre-fills nothing while it lacks a project label), "
        f"{last.get('f1_old', 0):.3f} served after {len(curve)} labels",
        f"- {name}: new intents labelled: {len(learnt)}; answered right on a slice task: {len(delays)} "
        f"(labels from the first label to that: median {sorted(delays)[len(delays) // 2] if delays else '-'}, "
        f"at once (0): {sum(d == 0 for d in delays)})",
    ]
    return lines


def figure(results: dict, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for name, result in results.items():
        xs = [0] + [c["labels"] for c in result["curve"]]
        ys = [result["base_f1"]] + [c["f1"] for c in result["curve"]]
        ax.plot(xs, ys, label=name)
        if "f1_old" in (result["curve"] or [{}])[0]:
            ax.plot(
                xs,
                [result["base_f1_old"]] + [c["f1_old"] for c in result["curve"]],
                "--",
                label=f"{name}: base's intents",
            )
    ax.set_xlabel("labels")
    ax.set_ylabel("served macro-F1 on the evaluation slice")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


VARIANTS = {"interleaved": ("interleaved (--eval-every 3)", 3), "slice-first": ("slice first (--eval-every 0)", 0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=90)
    parser.add_argument("--dataset", choices=["sms", "banking77-shifted"], default="sms")
    parser.add_argument("--base-intents", type=int, default=50, help="banking77-shifted: intents the base model knows")
    parser.add_argument("--variants", default="interleaved,slice-first", help="interleaved, slice-first, before")
    parser.add_argument("--before", type=Path, default=None, help="a checkout of the code before this change")
    parser.add_argument("--out", type=Path, default=None, help="write every curve as JSON here")
    parser.add_argument("--figure", type=Path, default=None, help="draw the served F1 curves here (PNG)")
    parser.add_argument("--no-base", action="store_true", help="start cold: no base model")
    args = parser.parse_args()
    names = [v.strip() for v in args.variants.split(",") if v.strip()]
    if "before" in names and args.before is None:
        parser.error("--variants before needs --before DIR")
    case = scenario(args.dataset, args.base_intents)
    work = Path(tempfile.mkdtemp(prefix="textal-first-hour-"))
    studio = start_label_studio(work)
    url, token = studio.url, studio.token
    results, seconds = {}, {}
    try:
        for variant in names:
            label, every = VARIANTS.get(variant, ("before this change", 3))
            path = str(args.before.resolve()) if variant == "before" else None
            started = time.perf_counter()
            results[label] = run_variant(
                variant, url, token, work, every, path, args.labels, case, base_model=not args.no_base
            )
            seconds[label] = round(time.perf_counter() - started)
            print(f"# {label}: {seconds[label]} s", file=sys.stderr)
    finally:
        stop_process(studio.process)
    command = "python -m benchmarks.first_hour.run " + " ".join(
        shlex.quote("<checkout>" if a == str(args.before) else a) for a in sys.argv[1:]
    )
    base = (
        "no base model (cold start)"
        if args.no_base
        else f"base model: {case.base_model} on {len(case.base_rows):,} rows"
    )
    if args.out:
        record = {
            "command": command,
            "commit": git_commit(),
            "before_commit": git_commit(args.before) if args.before else None,
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "machine": {"cpu": cpu_name(), "cores": os.cpu_count(), "python": platform.python_version()},
            "dataset": args.dataset,
            "base": base,
            "seconds": seconds,
            "results": results,
        }
        args.out.write_text(json.dumps(record, indent=1))
    if args.figure:
        figure(results, args.figure, f"{args.dataset}, {base}")
    print(f"### First hour: {args.dataset}, {len(case.pool):,} tasks, {base}, {args.labels} labels\n")
    print(f"- command: `{command}`")
    print(f"- commit {git_commit()}; machine: {cpu_name()}, {os.cpu_count()} cores\n")
    print(
        "| variant | base macro-F1 on the slice | labels until an own version serves | labels until the served "
        "model beats the base | labels at which it served worse than the base | drops over 0.01 after label 10 "
        "(largest) | slice labels among the first 30 | served F1 at 10 | 30 | 60 | 90 | 120 |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, result in results.items():
        print(summary(name, result))
    if args.dataset != "sms":
        print()
        for name, result in results.items():
            print("\n".join(shifted_summary(name, result)))


def git_commit(where: Path = REPO) -> str:
    return commit_at(where) or "unknown"


if __name__ == "__main__":
    main()
