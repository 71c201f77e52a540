"""Rerun every benchmark folder with its recorded commands, in one of two profiles.

From the repository root:

    make bench                 # quick profile: small settings, 1 repeat (meant to stay under 30 min on 2 cores)
    make bench FULL=1          # the recorded commands: 100,000 tasks, 1,000,000 texts, 10 repeats, a 30 min soak
    make bench ONLY=pool_scoring
    python -m benchmarks.run_all --list [--full]     # print the commands, run nothing
    python -m benchmarks.run_all [--full] [--only FOLDER[,FOLDER]]

``FULL`` runs the command lines the folders' RESULTS.md and raw files record (``BENCHES``: the ``full`` column),
with their own output paths: each run writes (or appends a line to) the raw file the folder's report reads, with its
run record (command, commit, date, machine, versions), and the folder-based ones (label_efficiency, class_weight,
label_noise, peers, two_tier) rewrite their results and RESULTS.md. Only the full runs' files are committed.

The quick profile runs the same scripts with small settings and writes everything under
``build/bench-quick/<folder>/`` (git-ignored; run_all creates the folders): its ``--json``/``--out``/``--samples``/
``--figure`` paths point there, and the folder-based scripts get ``--out build/bench-quick/<folder>``, where they
write their results, run record and RESULTS.md. So a quick run never touches benchmarks/'s committed raw files,
reports or figures (nor appends to their ``.jsonl`` files). Caches outside benchmarks/ (``runs/peers``,
``runs/two_tier``: embeddings and plans, git-ignored) are shared by both profiles. The ``demo`` folder times a running
`make run` stack and is skipped when none answers. The quick profile's total has not been timed as a whole yet;
``--only`` reruns one folder.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEMO_URL = "http://127.0.0.1:8080/health"  # `make run`'s Label Studio
QUICK = "build/bench-quick"  # where the quick profile writes, relative to REPO (git-ignored)
OUTPUTS = ("--json", "--out", "--samples", "--figure")  # the options naming what a script writes


@dataclass(frozen=True)
class Bench:
    """One folder's command lines (after ``python -m``) per profile, and what it needs running beforehand."""

    quick: tuple[str, ...]
    full: tuple[str, ...]
    needs_stack: bool = False


def _quick(folder: str, name: str = "") -> str:
    """Where the quick profile's run of ``folder`` writes ``name`` (the folder itself without one)."""
    return f"{QUICK}/{folder}/{name}".rstrip("/")


def _lines(module: str, *options: str) -> tuple[str, ...]:
    """``module`` with each of ``options`` (one command line each)."""
    return tuple(f"{module} {option}".strip() for option in options)


HUNDRED_THOUSAND = (  # refresh_latency's headline run
    "--tasks 100000 --rounds 10 --view-rounds 10 --pause-rounds 5 --burst 20 "
    "--json benchmarks/refresh_latency/results.jsonl"
)

BENCHES: dict[str, Bench] = {
    "selection_speed": Bench(
        _lines(
            "benchmarks.selection_speed.run",
            f"--pool 20000 --repeats 1 --json {_quick('selection_speed', 'results.jsonl')}",
        ),
        _lines(
            "benchmarks.selection_speed.run",
            "--json benchmarks/selection_speed/results.jsonl",
            "--pool 1000000 --repeats 1 --json benchmarks/selection_speed/results.jsonl",
        ),
    ),
    "pool_scoring": Bench(
        _lines(
            "benchmarks.pool_scoring.run",
            f"--texts 10000 --model linear --json {_quick('pool_scoring', 'results.jsonl')}",
        ),
        _lines(
            "benchmarks.pool_scoring.run",
            "--texts 1000000 --model linear --json benchmarks/pool_scoring/results.jsonl",
            "--texts 100000 --model linear --json benchmarks/pool_scoring/results.jsonl",
            "--texts 10000 --model linear --json benchmarks/pool_scoring/results.jsonl",
            "--texts 10000 --model embed-head --json benchmarks/pool_scoring/results.jsonl",
        ),
    ),
    "predict_latency": Bench(
        _lines(
            "benchmarks.predict_latency.run",
            f"--model embed-head --small 20 --large 1 --json {_quick('predict_latency', 'results.jsonl')}",
        ),
        _lines(
            "benchmarks.predict_latency.run",
            "--model embed-head --json benchmarks/predict_latency/results.jsonl",
            "--model embed-head --pool-cache --json benchmarks/predict_latency/results.jsonl",
            "--model linear --json benchmarks/predict_latency/results.jsonl",
        ),
    ),
    "predict_throughput": Bench(
        _lines(
            "benchmarks.predict_throughput.run",
            f"--n 200 --rounds 1 --json {_quick('predict_throughput', 'results.json')}",
        ),
        _lines("benchmarks.predict_throughput.run", "--json benchmarks/predict_throughput/results.json"),
    ),
    "backend_under_load": Bench(
        _lines(
            "benchmarks.backend_under_load.run",
            f"--seconds 10 --json {_quick('backend_under_load', 'results.jsonl')}",
        ),
        _lines("benchmarks.backend_under_load.run", "--json benchmarks/backend_under_load/results.jsonl"),
    ),
    "demo": Bench(
        _lines("benchmarks.demo.refresh_probe", f"--labels 6 --json {_quick('demo', 'results.jsonl')}"),
        _lines("benchmarks.demo.refresh_probe", "--labels 12 --json benchmarks/demo/results.jsonl"),
        needs_stack=True,
    ),
    "label_efficiency": Bench(
        _lines(
            "benchmarks.label_efficiency.run", f"--only sms_protocol --repeats 1 --out {_quick('label_efficiency')}"
        ),
        _lines("benchmarks.label_efficiency.run", "--repeats 5"),
    ),
    "class_weight": Bench(
        _lines("benchmarks.class_weight.run", f"--repeats 1 --out {_quick('class_weight')}"),
        _lines("benchmarks.class_weight.run", "--repeats 5"),
    ),
    "label_noise": Bench(
        _lines("benchmarks.label_noise.run", f"--datasets sms_spam --repeats 1 --out {_quick('label_noise')}"),
        _lines("benchmarks.label_noise.run", "--repeats 3"),
    ),
    "peers": Bench(
        _lines("benchmarks.peers.run", f"--datasets sms_spam --repeats 1 --out {_quick('peers')}"),
        _lines("benchmarks.peers.run", "--repeats 10"),
    ),
    "two_tier": Bench(
        _lines("benchmarks.two_tier.run", f"--datasets sms_spam --repeats 1 --out {_quick('two_tier')}"),
        _lines(
            "benchmarks.two_tier.run", "--datasets sms_spam,sst2 --jobs 2", "--datasets banking77,clinc150 --jobs 2"
        ),
    ),
    "full_tier_precision": Bench(
        _lines(
            "benchmarks.full_tier_precision.run",
            f"--datasets sms_spam --labels 100 --json {_quick('full_tier_precision')}/results.json",
        ),
        _lines("benchmarks.full_tier_precision.run", "--json benchmarks/full_tier_precision/results.json"),
    ),
    "guess_line": Bench(
        _lines("benchmarks.guess_line.run", "--tasks 200 --repeats 1"),
        _lines("benchmarks.guess_line.run", "--tasks 1000 --repeats 5"),
    ),
    "refresh_latency": Bench(
        _lines(
            "benchmarks.refresh_latency.run",
            "--tasks 1000 --rounds 5 --view-rounds 3 --pause-rounds 1 --burst 5 "
            f"--json {_quick('refresh_latency', 'results.jsonl')}",
        ),
        _lines(
            "benchmarks.refresh_latency.run",
            "--tasks 1000 --json benchmarks/refresh_latency/results.jsonl",
            "--tasks 10000 --json benchmarks/refresh_latency/results.jsonl",
            "--tasks 10000 --database postgresql --json benchmarks/refresh_latency/results.jsonl",
            *[HUNDRED_THOUSAND] * 3,  # the headline: three runs
        )
        + ("benchmarks.refresh_latency.report",),  # RESULTS.md's generated tables from the raw lines
    ),
    "connect_latency": Bench(
        _lines("benchmarks.connect_latency.run", f"--tasks 1000 --json {_quick('connect_latency', 'results.jsonl')}"),
        _lines(
            "benchmarks.connect_latency.run",
            "--tasks 1000 --json benchmarks/connect_latency/results.jsonl",
            "--tasks 10000 --json benchmarks/connect_latency/results.jsonl",
        )
        + ("benchmarks.connect_latency.report",),
    ),
    "first_hour": Bench(
        _lines(
            "benchmarks.first_hour.run",
            f"--labels 30 --out {_quick('first_hour', 'sms_base.json')} "
            f"--figure {_quick('first_hour', 'sms_base.png')}",
        ),
        (
            "benchmarks.first_hour.run --labels 90 --out benchmarks/first_hour/sms_base.json "
            "--figure benchmarks/first_hour/sms_base.png",
            "benchmarks.first_hour.run --labels 90 --no-base --out benchmarks/first_hour/sms_cold.json "
            "--figure benchmarks/first_hour/sms_cold.png",
            "benchmarks.first_hour.run --labels 90 --dataset banking77-shifted "
            "--out benchmarks/first_hour/banking77_shifted.json --figure benchmarks/first_hour/banking77_shifted.png",
            "benchmarks.first_hour.shifted_offline --out benchmarks/first_hour/shifted_offline.json",
        ),
    ),
    "scale_out": Bench(
        _lines("benchmarks.scale_out.run", f"--labels 5 --json {_quick('scale_out', 'results.jsonl')}"),
        _lines("benchmarks.scale_out.run", "--labels 20 --json benchmarks/scale_out/results.jsonl"),
    ),
    "soak": Bench(
        _lines("benchmarks.soak.run", f"--minutes 3 --samples {_quick('soak', 'samples.csv')}"),
        _lines("benchmarks.soak.run", "--minutes 30 --samples benchmarks/soak/samples.csv"),
    ),
    "label_stream_ui": Bench(
        _lines("benchmarks.label_stream_ui.run", f"--labels 30 --out {_quick('label_stream_ui', 'results.json')}"),
        _lines(
            "benchmarks.label_stream_ui.run",
            "--labels 300 --out benchmarks/label_stream_ui/results.json",
            "--labels 150 --annotators 3 --out benchmarks/label_stream_ui/three.json",
        ),
    ),
    "push_design": Bench(
        _lines(
            "benchmarks.push_design.request_cost",
            f"--calls 10 --out {_quick('push_design', 'request_cost.json')}",
        ),
        (
            "benchmarks.push_design.run --refreshes 200 --keep 150 --out benchmarks/push_design/results.json",
            "benchmarks.push_design.request_cost --out benchmarks/push_design/request_cost.json",
        ),
    ),
}


def commands(folder: str, full: bool) -> tuple[str, ...]:
    """The command lines (after ``python -m``) ``folder`` runs in the chosen profile."""
    bench = BENCHES[folder]
    return bench.full if full else bench.quick


def outputs(line: str) -> list[str]:
    """The paths ``line``'s output options (``OUTPUTS``) name, as written (relative to REPO)."""
    args = shlex.split(line)
    return [value for option, value in zip(args, args[1:]) if option in OUTPUTS]


def output_folders(line: str) -> list[Path]:
    """The folders ``line`` writes into, to create before it runs: each ``--out`` of a folder-based script (no
    suffix) itself, each output file's parent."""
    return [Path(path) if not Path(path).suffix else Path(path).parent for path in outputs(line)]


def stack_up(url: str = DEMO_URL) -> bool:
    """Whether `make run`'s Label Studio answers (the demo's probe labels a live project)."""
    try:
        with urllib.request.urlopen(url, timeout=3) as answer:
            return answer.status == 200
    except OSError:
        return False


def main(argv: list[str] | None = None) -> int:
    """Run (or ``--list``) the chosen folders' commands one after another; the exit status says whether all ran."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the recorded long commands (make bench FULL=1)")
    parser.add_argument("--only", default="", help="comma-separated folders (default: every folder)")
    parser.add_argument("--list", action="store_true", help="print each folder's quick and full commands and stop")
    args = parser.parse_args(argv)
    folders = [name for name in args.only.split(",") if name] or list(BENCHES)
    unknown = sorted(set(folders) - set(BENCHES))
    if unknown:
        parser.error(f"unknown folder(s) {', '.join(unknown)}; known: {', '.join(BENCHES)}")
    if args.list:
        for name in folders:
            print(f"{name}{' (needs `make run` up)' if BENCHES[name].needs_stack else ''}")
            for profile, lines in (("quick", BENCHES[name].quick), ("full", BENCHES[name].full)):
                for line in lines:
                    print(f"  {profile}: python -m {line}")
        return 0
    failed = []
    for name in folders:
        if BENCHES[name].needs_stack and not stack_up():
            print(f"== {name}: skipped (nothing answers at {DEMO_URL}; start `make run` first)", flush=True)
            continue
        for line in commands(name, args.full):
            for folder in output_folders(line):
                (REPO / folder).mkdir(parents=True, exist_ok=True)
            print(f"== {name}: python -m {line}", flush=True)
            started = time.monotonic()
            done = subprocess.run([sys.executable, "-m", *shlex.split(line)], cwd=REPO)
            print(f"== {name}: exit {done.returncode} after {time.monotonic() - started:.0f} s", flush=True)
            if done.returncode != 0:
                failed.append(f"{name}: python -m {line}")
    if failed:
        print("failed:\n  " + "\n  ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
