"""Label Studio ML backend for textal."""
