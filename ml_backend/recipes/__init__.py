"""Recipes: ready set-ups read from recipes/<name>/, and `textal init`, which applies one to Label Studio."""
