"""`python -m textal`: the `textal` command (also what `accelerate launch -m textal` runs)."""

from textal.cli.app import main

main()
