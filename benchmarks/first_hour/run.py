"""The first hour of a project: how many labels until the model Label Studio serves beats the base model?

Starts a real Label Studio, then, for each variant, `textal serve` and `textal worker` over a base
model (a linear classifier `textal train` fitted on 300 SMS) and a project of 1,000 SMS tasks (test
split, labels left out). A simulated annotator labels the task Label Studio's label stream serves
next, with its gold label, and waits for the worker to catch up. After every label the served
model is measured: /predict over every evaluation-slice task, macro-F1 against the gold labels
(the whole slice, labelled or not: the benchmark knows every answer).

Variants: the interleaved slice (``--eval-every 3``, the default), the slice served first
(``--eval-every 0``), and, with ``--before DIR``, the serve and worker of another checkout (the
code before this change: slice first, and a first version promoted over the base model).

    .venv/bin/python -m benchmarks.first_hour.run --labels 120 --before ../textal-before
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sklearn.metrics import f1_score

from benchmarks.ls_stack import (
    choice,
    free_port,
    ls_environment,
    start,
    stop_process,
    up,
    wait,
    wait_for_label_studio,
)
from benchmarks.machine import cpu_name

REPO = Path(__file__).resolve().parents[2]

DATA = Path(os.environ.get("DATA", REPO.parent / "shared" / "data"))
BIN = Path(sys.executable).parent
CONFIG = (
    '<View><Text name="text" value="$text"/>'
    '<Choices name="label" toName="text" choice="single"><Choice value="ham"/><Choice value="spam"/></Choices></View>'
)
BASE_TRAIN = 300
WORKER_ARGS = ["--full-every", "0"]


def rows(split: str, start: int, n: int) -> list[dict[str, str]]:
    with open(DATA / "sms_spam" / f"{split}.csv", newline="") as fh:
        return list(csv.DictReader(fh))[start : start + n]


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
    base_model: bool = True,
) -> dict:
    """One project through its first ``labels`` labels; returns the served model's slice macro-F1 after each."""
    from label_studio_sdk import LabelStudio

    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "PYTHONUNBUFFERED": "1",
        "LABEL_STUDIO_URL": url,
    }  # serve and worker need the Label Studio they serve
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    folder = work / name
    folder.mkdir()
    base = folder / "base.csv"
    with open(base, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["text", "label"])
        writer.writeheader()
        writer.writerows(rows("train", 0, BASE_TRAIN))
    if base_model:
        subprocess.run(
            [str(BIN / "textal"), "train", str(base), "--model", "linear", "--store", str(folder / "store")],
            env=env,
            check=True,
            capture_output=True,
        )
    state, port = folder / "backend", free_port()
    args = WORKER_ARGS + (["--eval-every", str(eval_every)] if eval_every is not None else [])
    procs = [
        start(
            [str(BIN / "textal"), "worker", "--store", str(folder / "store"), "--data-dir", str(state), *args],
            folder / "worker.log",
            env,
        ),
        start(
            [
                str(BIN / "textal"),
                "serve",
                "--store",
                str(folder / "store"),
                "--data-dir",
                str(state),
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            folder / "serve.log",
            env,
        ),
    ]
    backend = f"http://127.0.0.1:{port}"
    try:
        wait(lambda: up(f"{backend}/health"), 300, "textal serve", folder / "serve.log", 0.3)
        ls = LabelStudio(base_url=url, api_key=token, timeout=300)
        http = ls._client_wrapper.httpx_client
        project = ls.projects.create(title=f"first hour: {name}", label_config=CONFIG)
        pid = project.id
        pool = rows("test", 0, 1000)
        ids = sorted(
            ls.projects.import_tasks(id=pid, request=[{"text": r["text"]} for r in pool], return_task_ids=True).task_ids
        )
        gold = {tid: r["label"] for tid, r in zip(ids, pool)}
        text = {tid: r["text"] for tid, r in zip(ids, pool)}
        ls.ml.create(url=backend, project=pid, title="textal")
        wait(
            lambda: (
                (not base_model or (ls.projects.get(id=pid).model_version or "").startswith("base-"))
                and len(
                    [
                        t
                        for t in ls.tasks.list(project=pid, include="id,data", page_size=1000)
                        if t.data.get("textal_eval") == 1
                    ]
                )
                >= 100
            ),
            900,
            "the project set up",
            folder / "worker.log",
            1.0,
        )
        slice_ids = sorted(
            t.id
            for t in ls.tasks.list(project=pid, include="id,data", page_size=1000)
            if t.data.get("textal_eval") == 1
        )

        def served_f1() -> tuple[str, float]:
            tasks = [{"id": t, "data": {"text": text[t]}} for t in slice_ids]  # unmarked: the guess is given
            answer = httpx.post(f"{backend}/predict", json={"tasks": tasks, "project": str(pid)}, timeout=300).json()
            guess = [(r.get("result") or [{}])[0].get("value", {}).get("choices", ["?"])[0] for r in answer["results"]]
            truth = [gold[t] for t in slice_ids]
            return answer.get("model_version") or "no-model", float(
                f1_score(truth, guess, average="macro", labels=["ham", "spam"], zero_division=0)
            )

        base_version, base_f1 = served_f1()
        curve = []
        for n in range(1, labels + 1):
            tid = http.request(f"api/projects/{pid}/next", method="GET").json()["id"]
            ls.annotations.create(id=tid, result=choice(gold[tid]))
            time.sleep(0.3)
            wait(lambda: worker_idle(state, pid), 300, "the worker to catch up", folder / "worker.log", 0.2)
            version, f1 = served_f1()
            curve.append({"labels": n, "slice": tid in slice_ids, "served": version, "f1": round(f1, 4)})
        return {"base": base_version, "base_f1": round(base_f1, 4), "curve": curve}
    finally:
        for proc in procs:
            stop_process(proc)


def summary(name: str, result: dict) -> str:
    curve, base = result["curve"], result["base_f1"]
    beats = next((c["labels"] for c in curve if c["f1"] > base), None)
    own = next((c["labels"] for c in curve if c["served"].startswith("v")), None)
    worse = sum(c["f1"] < base - 1e-9 for c in curve)
    at = {c["labels"]: c for c in curve}
    points = " | ".join(f"{at[n]['f1']:.3f}" if n in at else "-" for n in (10, 30, 60, 90, 120))
    slice_by_30 = sum(c["slice"] for c in curve if c["labels"] <= 30)
    return f"| {name} | {base:.3f} | {own or '-'} | {beats or '-'} | {worse} | {slice_by_30} | {points} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=120)
    parser.add_argument("--before", type=Path, default=None, help="a checkout of the code before this change")
    parser.add_argument("--out", type=Path, default=None, help="write every curve as JSON here")
    parser.add_argument("--no-base", action="store_true", help="start cold: no base model")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="textal-first-hour-"))
    token = secrets.token_hex(20)
    ls_port = free_port()
    ls_proc = start(
        [
            str(BIN / "label-studio"),
            "start",
            "--no-browser",
            "--internal-host",
            "127.0.0.1",
            "--port",
            str(ls_port),
            "--host",
            f"http://127.0.0.1:{ls_port}",
        ],
        work / "ls.log",
        ls_environment(work / "ls-data", token),
    )
    results = {}
    try:
        url = wait_for_label_studio(ls_proc, ls_port, token, work / "ls.log")
        variants = [("interleaved (--eval-every 3)", 3, None), ("slice first (--eval-every 0)", 0, None)]
        if args.before:
            variants.append(("before this change", None, str(args.before.resolve())))
        for name, every, path in variants:
            started = time.perf_counter()
            results[name] = run_variant(
                name.split(" (")[0].replace(" ", "-"),
                url,
                token,
                work,
                every,
                path,
                args.labels,
                base_model=not args.no_base,
            )
            print(f"# {name}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    finally:
        stop_process(ls_proc)
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))
    base = "no base model (cold start)" if args.no_base else f"base model linear on {BASE_TRAIN} SMS"
    print(f"### First hour: SMS spam, 1,000 tasks, {base}, {args.labels} labels\n")
    print(
        f"- command: `.venv/bin/python -m benchmarks.first_hour.run --labels {args.labels}"
        f"{' --no-base' if args.no_base else ''}{' --before <checkout>' if args.before else ''}`"
    )
    print(f"- machine: {cpu_name()}, {os.cpu_count()} cores; load average after: {os.getloadavg()[0]:.1f}\n")
    print(
        "| variant | base macro-F1 on the slice | labels until an own version serves | labels until the served "
        "model beats the base | labels at which it served worse than the base | slice labels among the first 30 "
        "| served F1 at 10 | 30 | 60 | 90 | 120 |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, result in results.items():
        print(summary(name, result))


if __name__ == "__main__":
    main()
