"""The loop users get, simulated: the fast tier every round and a full tier on the worker's schedule.

On SMS spam, SST-2, BANKING77 and CLINC150 under the peers' protocol (``benchmarks/peers``: the same seed sets,
batch, classifier and measures), textal's default strategy runs over whichever encoder the worker would be
serving: the frozen MiniLM until the first full tier, then the latest tuned one (``loop.py``), tuned the way
``--full-tier`` names (contrastive, the worker's default, or plain); each full tier's results are kept side by side.
``report.py`` sets the curves beside the frozen-encoder and peers' curves recorded by ``benchmarks/peers``
on the same seed sets, and writes RESULTS.md.

CPU time is short, so fewer repeats than the side-by-side's 10 and, on the large pools, a shorter budget
(``PLANS``). Usage (from the repository root):
``python -m benchmarks.two_tier.run [--datasets sms_spam,sst2,banking77,clinc150] [--full-tier plain] [--jobs 2]``;
a smoke test: ``--limit 200 --sizes 10,10,30 --full-every 20 --repeats 1 --encoder DIR --out DIR``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from benchmarks.machine import cpu_name, run_record
from benchmarks.peers.protocol import SIZES
from benchmarks.peers.run import features, with_repo, write_plan
from textal.models.fine_tune_schedule import DEFAULT_FULL_TIER, FULL_TIERS

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

# dataset: (repeats, new labels between fine-tunes, budget). The worker fine-tunes every 500 labels by
# default; SMS spam's budget of 1,000 would then see two fine-tunes, so it gets one every 250.
PLANS = {
    "sms_spam": (3, 250, 1000),
    "sst2": (3, 250, 1000),
    "banking77": (3, 500, 2000),
    "clinc150": (3, 500, 2000),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(PLANS))
    parser.add_argument("--jobs", type=int, default=2, help="datasets run at once")
    parser.add_argument("--encoder", default="default", help="the encoder fine-tuned and served (default: MiniLM)")
    parser.add_argument("--full-tier", default=DEFAULT_FULL_TIER, choices=FULL_TIERS)
    parser.add_argument("--limit", type=int, default=None, help="a slice of this many training texts (smoke test)")
    parser.add_argument("--sizes", default=None, help="seed,batch,budget instead of the plan's (smoke test)")
    parser.add_argument("--full-every", type=int, default=None, help="instead of the plan's (smoke test)")
    parser.add_argument("--repeats", type=int, default=None, help="instead of the plan's (smoke test)")
    parser.add_argument("--out", type=Path, default=HERE, help="folder for results/ and RESULTS.md")
    parser.add_argument("--work", type=Path, default=REPO / "runs" / "two_tier", help="embeddings and plans")
    parser.add_argument("--peers", type=Path, default=HERE.parent / "peers", help="the side-by-side's folder")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    results = args.out / "results"
    results.mkdir(parents=True, exist_ok=True)
    jobs, plans = [], {}
    for dataset in args.datasets.split(","):
        repeats, every, budget = PLANS[dataset]
        repeats, every = args.repeats or repeats, args.full_every or every
        seed_size, batch, _ = SIZES[("peers", dataset)]
        sizes = tuple(int(v) for v in args.sizes.split(",")) if args.sizes else (seed_size, batch, budget)
        feats = features(dataset, args.work, args.encoder, args.limit)
        plan_file = write_plan(dataset, "peers", args.work, np.load(feats)["y"], repeats, sizes)
        plans[dataset] = {"repeats": repeats, "full_every": every, "seed_batch_budget": list(sizes)}
        out = results / f"{dataset}-{args.full_tier}.json"
        jobs.append(
            [
                sys.executable,
                "-m",
                "benchmarks.two_tier.loop",
                str(feats),
                str(plan_file),
                str(out),
                str(every),
                args.encoder,
                args.full_tier,
            ]
        )
    record = {**run_record("benchmarks.two_tier.run"), "datasets": list(plans), "cpu": cpu_name()}
    run_file = results / f"run-{args.full_tier}.json"
    meta = json.loads(run_file.read_text()) if run_file.is_file() else {"full_tier": args.full_tier, "plans": {}}
    meta["plans"] = {**meta.get("plans", {}), **plans}  # datasets run before under this full tier stay recorded
    meta["jobs"] = args.jobs
    meta["runs"] = [*meta.get("runs", []), record]
    run_file.write_text(json.dumps(meta, indent=1))
    threads = max(1, (os.cpu_count() or 2) // max(1, args.jobs))
    env = {
        **with_repo(os.environ),
        **{k: str(threads) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")},
    }
    start = time.perf_counter()

    def launch(command: list[str]) -> None:
        print("$", " ".join(shlex.quote(c) for c in command[1:]), flush=True)
        subprocess.run(command, check=True, env=env)

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        list(pool.map(launch, jobs))
    record["wall_seconds"] = round(time.perf_counter() - start)
    run_file.write_text(json.dumps(meta, indent=1))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.two_tier.report",
            "--out",
            str(args.out),
            "--work",
            str(args.work),
            "--peers",
            str(args.peers),
        ],
        check=True,
        env=with_repo(os.environ),
    )


if __name__ == "__main__":
    main()
