"""Published model versions on disk (atomic, data only) and a live project's history of them."""
