"""The one scoring path shared by /predict and the worker: loaded models, informativeness -> Label Studio score,
clusters."""
