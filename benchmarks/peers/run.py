"""Peers side by side: textal, small-text and modAL on the same embeddings, classifier and seed sets.

Each dataset is embedded once with textal's frozen encoder (mean-pooled, unit length; all-MiniLM-L6-v2
by default). Then every strategy runs the loop of ``protocol.py`` on each repeat's seed set: textal's
in textal's environment, small-text's and modAL's in their own virtualenv (``.venv-peers`` at the
repository root, created from ``requirements.txt`` with uv on first use). ``report.py`` then writes
RESULTS.md from the JSON files.

Usage (from the repository root): ``python -m benchmarks.peers.run [--datasets sms_spam,sst2,banking77,clinc150]
[--protocols peers,practice] [--repeats 10] [--jobs 2]``. A tiny slice for a smoke test:
``--limit 300 --sizes 10,10,40 --repeats 2 --encoder DIR --out DIR``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from benchmarks.machine import PEER_LIBRARIES, run_record, versions
from benchmarks.peers.protocol import PROTOCOLS, SIZES, plan, rarest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

DATA = Path(os.environ.get("DATA", REPO.parent / "shared" / "data")).resolve()
PEERS_VENV = REPO / ".venv-peers"
DATASETS = ("clinc150", "banking77", "sst2", "sms_spam")  # the longest runs first
# (tool, strategy as the tool names it, largest pool it runs on); random is drawn by the shared loop, once
# for everyone. The caps are cost, measured on 2 cores: small-text's PredictionEntropy took 195-307 s per
# repeat on CLINC150 (BreakingTies 35 s) and 295-302 s on SST-2 (BreakingTies 2 s); its GreedyCoreset had
# not finished one repeat of CLINC150 after 9 CPU-minutes and took 585 s for one of SST-2. Ten repeats of
# each on four datasets do not fit one session's machine time; run them with --caps none.
SMALL_POOL = 4500
STRATEGIES = (
    ("textal", "random", None),
    ("textal", "hybrid.v2", None),
    ("small-text", "BreakingTies", None),
    ("small-text", "LeastConfidence", None),
    ("small-text", "PredictionEntropy", 0),
    ("small-text", "GreedyCoreset", 0),
    ("modal", "margin_sampling", None),
    ("modal", "uncertainty_batch_sampling", SMALL_POOL),
)


def with_repo(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` with the repository root first on PYTHONPATH: the children run ``python -m benchmarks.peers.*``
    from any folder, the peers' interpreter too."""
    path = [str(REPO), *filter(None, environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**environ, "PYTHONPATH": os.pathsep.join(path)}


def peers_python(venv: Path) -> str:
    """The peers' interpreter, creating their virtualenv first if it is missing or out of date."""
    python = venv / "bin" / "python"
    pins = (HERE / "requirements.txt").read_text()
    stamp = venv / "textal-requirements.txt"
    if not python.exists() or not stamp.is_file() or stamp.read_text() != pins:
        uv = str(Path(sys.executable).with_name("uv"))
        subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
        subprocess.run(
            [uv, "pip", "install", "-q", "--python", str(python), "-r", str(HERE / "requirements.txt")], check=True
        )
        stamp.write_text(pins)
    return str(python)


def features(dataset: str, work: Path, encoder: str, limit: int | None) -> Path:
    """The dataset embedded (train as the pool, test), with its labels as ids: ``work/<dataset>.npz``, and its
    texts beside it."""
    from textal.data.corpus import load_corpus
    from textal.models.encoder import Encoder

    target = work / f"{dataset}.npz"
    if target.is_file() and target.with_suffix(".test-texts.json").is_file():
        return target
    train = load_corpus(DATA / dataset / "train.csv")
    test = load_corpus(DATA / dataset / "test.csv")
    texts, labels = list(train.texts), list(train.labels)
    test_texts, test_labels = list(test.texts), list(test.labels)
    if limit:
        rng = np.random.default_rng(0)
        keep = np.sort(rng.permutation(len(texts))[:limit])
        texts, labels = [texts[i] for i in keep], [labels[i] for i in keep]
        test_texts, test_labels = test_texts[:limit], test_labels[:limit]
    classes = sorted(set(labels) | set(test_labels))
    ids = {c: i for i, c in enumerate(classes)}
    encode = Encoder(encoder, cache_dir=work / "embedding-cache").encode
    print(f"embedding {dataset}: {len(texts)} + {len(test_texts)} texts", flush=True)
    y = np.array([ids[c] for c in labels])
    np.savez(
        target,
        X=encode(texts).astype(np.float32),
        y=y,
        X_test=encode(test_texts).astype(np.float32),
        y_test=np.array([ids[c] for c in test_labels]),
        n_classes=len(classes),
        rare=rarest(y, len(classes)),
        classes=np.array(classes),
    )
    target.with_suffix(".texts.json").write_text(json.dumps(texts))
    target.with_suffix(".test-texts.json").write_text(json.dumps(test_texts))  # for the two-tier loop's fine-tunes
    return target


def write_plan(dataset: str, protocol: str, work: Path, y: np.ndarray, repeats: int, sizes) -> Path:
    """Seed sets and evaluation slices per repeat, shared by every tool: ``work/<dataset>-<protocol>-plan.npz``."""
    seed_size, batch, budget = sizes or SIZES[(protocol, dataset)]
    settings = PROTOCOLS[protocol]
    seeds, held = plan(y, seed_size, settings["eval_fraction"], repeats)
    target = work / f"{dataset}-{protocol}-plan.npz"
    np.savez(
        target,
        repeats=repeats,
        batch=batch,
        budget=budget,
        random_fraction=settings["random_fraction"],
        **{f"seed_{r}": s for r, s in enumerate(seeds)},
        **{f"held_{r}": h for r, h in enumerate(held)},
    )
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--protocols", default=",".join(PROTOCOLS))
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=2, help="strategies run at once (one core each)")
    parser.add_argument("--encoder", default="default", help="textal's frozen encoder (default: MiniLM)")
    parser.add_argument("--limit", type=int, default=None, help="a slice of this many training texts (smoke test)")
    parser.add_argument("--sizes", default=None, help="seed,batch,budget instead of the protocol's (smoke test)")
    parser.add_argument("--out", type=Path, default=HERE, help="folder for results/ and RESULTS.md")
    parser.add_argument("--work", type=Path, default=REPO / "runs" / "peers", help="embeddings and plans")
    parser.add_argument("--peers-venv", type=Path, default=PEERS_VENV)
    parser.add_argument("--resume", action="store_true", help="keep the results already in --out, run the rest")
    parser.add_argument(
        "--caps",
        choices=("on", "none"),
        default="on",
        help="skip the slow peer strategies on large pools (see STRATEGIES), or run every strategy everywhere",
    )
    args = parser.parse_args()
    sizes = tuple(int(v) for v in args.sizes.split(",")) if args.sizes else None
    args.work.mkdir(parents=True, exist_ok=True)
    results = args.out / "results"
    results.mkdir(parents=True, exist_ok=True)
    python = {"textal": sys.executable, "small-text": peers_python(args.peers_venv)}
    python["modal"] = python["small-text"]
    jobs, skipped = [], []
    for dataset in args.datasets.split(","):
        feats = features(dataset, args.work, args.encoder, args.limit)
        y = np.load(feats)["y"]
        for protocol in args.protocols.split(","):
            plan_file = write_plan(dataset, protocol, args.work, y, args.repeats, sizes)
            for tool, strategy, cap in STRATEGIES:
                out = results / f"{dataset}-{protocol}-{tool}-{strategy}.json"
                if args.caps == "on" and cap is not None and len(y) > cap:
                    skipped.append([dataset, protocol, tool, strategy])
                    continue
                if args.resume and out.is_file():
                    continue
                jobs.append(
                    [python[tool], "-m", "benchmarks.peers.loop", tool, strategy, str(feats), str(plan_file), str(out)]
                )
    jobs.sort(key=lambda job: Path(job[-1]).name.split("-")[1] != "peers")  # the peers' protocol first
    env = {**with_repo(os.environ), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    start = time.perf_counter()
    command = "python -m benchmarks.peers.run " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    earlier = []
    if args.resume and (results / "run.json").is_file():
        before = json.loads((results / "run.json").read_text())
        earlier = before.get("earlier", []) + [
            {"command": before["command"], "wall_seconds": before.get("wall_seconds")}
        ]
    meta = {
        **run_record("benchmarks.peers.run"),
        # the peers' own virtualenv: their installed versions and the shared libraries' there
        "peer_versions": versions((*PEER_LIBRARIES, "scikit-learn", "numpy", "scipy"), python=python["small-text"]),
        "command": command.strip(),
        "jobs": args.jobs,
        "repeats": args.repeats,
        "sizes": sizes,
        "skipped": skipped,
        "small_pool": SMALL_POOL,
        "earlier": earlier,
    }
    (results / "run.json").write_text(json.dumps(meta, indent=1))

    def launch(command: list[str]) -> None:
        print("$", " ".join(shlex.quote(c) for c in command[1:]), flush=True)
        subprocess.run(command, check=True, env=env)

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        list(pool.map(launch, jobs))  # the first failure stops the run with its error
    meta["wall_seconds"] = round(time.perf_counter() - start)
    (results / "run.json").write_text(json.dumps(meta, indent=1))
    subprocess.run(
        [sys.executable, "-m", "benchmarks.peers.report", "--out", str(args.out), "--work", str(args.work)],
        check=True,
        env=with_repo(os.environ),
    )


if __name__ == "__main__":
    main()
