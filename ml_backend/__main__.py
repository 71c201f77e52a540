"""``python -m ml_backend --store DIR``: the same server as ``textal serve``, without the CLI."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ml_backend.config import DEFAULT_HOST, DEFAULT_PORT, DEFAULT_STRATEGY
from ml_backend.server.run import serve
from textal.errors import TextalError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml_backend", description=__doc__)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--strategy", default=DEFAULT_STRATEGY)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    try:
        serve(args.store, args.host, args.port, args.data_dir, args.strategy, args.log_level)
    except TextalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
