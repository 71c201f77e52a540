"""`textal up`: Label Studio, `textal serve` and `textal worker` together on this machine (`make run`'s demo)."""
