"""Fixtures shared by the whole suite: the shared datasets, a tiny BERT, the CLI, real servers; xdist's scheduling."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.servers import (
    Backend,
    LabelStudioServer,
    Worker,
    launch_backend,
    launch_worker,
    redis_server,
    start_label_studio,
    stop_process,
)

REPO = Path(__file__).resolve().parents[1]
# ../shared/data beside the checkout, or wherever DATA points (make test passes it on).
DATA_DIR = Path(os.environ.get("DATA", REPO.parent / "shared" / "data")).resolve()

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The shared datasets folder; the suite needs it, so its absence is an error, not a skip."""
    if not (DATA_DIR / "sms_spam" / "train.csv").is_file():
        raise RuntimeError(f"shared datasets not found under {DATA_DIR}; set DATA=/path/to/data")
    return DATA_DIR


# -- real servers, for the e2e and reliability tests (tests/support/servers.py) ---------------------------------


@pytest.fixture(scope="session")
def label_studio(tmp_path_factory) -> Iterator[LabelStudioServer]:
    """A real Label Studio on 127.0.0.1 (SQLite in a temp folder), shared by the whole session."""
    server = start_label_studio(tmp_path_factory.mktemp("label-studio"))
    try:
        yield server
    finally:
        if server.process is not None:
            stop_process(server.process)


@pytest.fixture
def start_backend(tmp_path) -> Iterator[Callable[..., Backend]]:
    """Start ``textal serve`` over a store as a separate process; stopped at the end of the test."""
    started: list[Backend] = []

    def start(
        store: Path,
        data_dir: Path | None = None,
        strategy: str = "entropy",
        env: dict[str, str] | None = None,
        port: int | None = None,
    ) -> Backend:
        data_dir = data_dir or tmp_path / f"backend-data-{len(started)}"
        log_path = tmp_path / f"backend-{len(started)}.log"
        started.append(launch_backend(store, data_dir, log_path, strategy, env, port))
        return started[-1]

    yield start
    for backend in started:
        stop_process(backend.process)


@pytest.fixture
def start_worker(tmp_path) -> Iterator[Callable[..., Worker]]:
    """Start ``textal worker`` as a separate process (not waited for); stopped at the end of the test."""
    started: list[Worker] = []

    def start(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> Worker:
        started.append(launch_worker(data_dir, tmp_path / f"worker-{len(started)}.log", *args, env=env))
        return started[-1]

    yield start
    for worker in started:
        stop_process(worker.process)


TINY_BERT_WORDS = (
    "win winner prize cash free claim call now urgent reward money offer text txt stop mobile "
    "meet lunch home later tonight dinner see you tomorrow love thanks ok sorry work going sleep "
    "the a to and i is it of in for on my me your are be have will can what not this that with"
).split()


@pytest.fixture
def redis_url(tmp_path) -> Iterator[str]:
    """A real redis-server for the test (tests.support.servers.redis_server); its URL."""
    with redis_server(tmp_path) as url:
        yield url


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory) -> Path:
    """A tiny randomly initialised BERT (hidden 32, 2 layers) and its WordPiece tokenizer, saved with save_pretrained.

    Its vocabulary holds a few common/SMS-like words plus single characters (and their ``##``
    forms), so any lower-case ASCII text tokenises. Load it through the real loading code.
    """
    import string

    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    path = tmp_path_factory.mktemp("tiny_bert")
    chars = list(string.ascii_lowercase + string.digits + string.punctuation)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars, *("##" + c for c in chars), *TINY_BERT_WORDS]
    vocab_file = path / "vocab.txt"
    vocab_file.write_text("\n".join(dict.fromkeys(vocab)) + "\n")
    tokenizer = BertTokenizerFast.from_pretrained(str(path), do_lower_case=True)
    config = BertConfig(
        vocab_size=len(dict.fromkeys(vocab)),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        initializer_range=0.2,
    )
    torch.manual_seed(0)
    BertModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture
def textal_cli(capsys):
    """Run the ``textal`` console entry point with ``argv``; returns (exit code, stdout, stderr)."""
    from textal.cli import app as cli

    def run(argv: list[str]) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as exc:
            cli.main(argv)
            raise SystemExit(0)
        captured = capsys.readouterr()
        return exc.value.code, captured.out, captured.err

    return run


# `make test` runs the suite on two xdist workers. The tests that drive real servers run one after another on
# one worker, so they share one Label Studio (a session fixture starts one per worker) and never compete with
# each other for the CPU; the browser demo and the worker's loop on both queues are units of their own (a second
# Label Studio on the other worker). Every other module
# is a unit too, so that a module's fixtures (a fine-tuned model) are built once. (xdist's own loadgroup cannot
# do this with pytest 9: it renames items through an attribute pytest no longer has.)
SERVER_FOLDERS = ("tests/e2e/", "tests/reliability/")
# units of their own that start their own servers (a second Label Studio on the other worker, in parallel with
# the chain): the browser demo, the worker's loop on both queues (the chain's longest module), and two workers on
# one Redis queue (no Label Studio)
OWN_SERVERS = (
    "tests/e2e/test_demo_in_browser.py",
    "tests/e2e/test_worker_label_studio.py",
    "tests/reliability/test_two_workers_one_queue.py",
)
# reliability modules that start no server and time nothing: units of their own, off the real-server chain
IN_PROCESS = tuple(
    f"tests/reliability/test_{name}.py"
    for name in (
        "compressed_input_bounded",
        "endpoints_hypothesis",
        "export_never_deletes",
        "full_disk_publish",
        "loaders_hypothesis",
        "log_amplification",
        "server_bounds",
        "setup_trust",
        "unknown_labels_guess_nothing",
        "webhook_merging",
    )
)


def scheduling_unit(nodeid: str) -> str:
    """The xdist unit a test runs in: all real-server tests together, else its module."""
    module = nodeid.split("::", 1)[0]
    if module in OWN_SERVERS or module in IN_PROCESS:
        return module
    return "servers" if module.startswith(SERVER_FOLDERS) else module


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    from xdist.scheduler import LoadScopeScheduling

    class ByUnit(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return scheduling_unit(nodeid)

        def schedule(self) -> None:
            # tests sharing an id would run once and the rest be reported as nothing: refuse them
            collection = next(iter(self.registered_collections.values()), [])
            shared = sorted(nodeid for nodeid, n in Counter(collection).items() if n > 1)
            if shared:
                raise pytest.UsageError(
                    f"{len(shared)} test id(s) name several tests, which xdist runs once "
                    f"(run them without -n, as the Makefile's ONE_ID_TESTS do): {shared[0]}"
                )
            super().schedule()

    return ByUnit(config, log)
