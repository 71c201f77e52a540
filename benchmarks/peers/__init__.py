"""The side-by-side of textal, small-text and modAL (its loop and protocol also run in the peers' own virtualenv)."""
