"""`textal up`: Label Studio, `textal serve` and `textal worker` run together on this machine (the demo of `make run`)."""
