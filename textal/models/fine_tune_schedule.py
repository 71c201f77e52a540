"""The full tier's schedule: when the transformer is tuned on every label, which way, and with how much training.

The worker (`textal worker`) and the simulation (`textal simulate --model two-tier`) both decide with
``fine_tune_due`` and train with ``textal.training.full_tier.tune_encoder``, so the simulated loop is the one
users get. The tuned encoder then feeds the fast tier's logistic head until the next full tier.
Light on purpose (no torch): the backend's settings read these defaults.
"""

from __future__ import annotations

DEFAULT_FULL_EVERY = 500  # new training labels between full fine-tunes (0: only on request)
DEFAULT_FULL_EPOCHS = 2
DEFAULT_FULL_MIN_STEPS = 100
# contrastive: the encoder tuned so texts sharing a label embed together (textal.models.contrastive_tuning);
# plain: fine-tuned end to end with a classification head (textal.models.transformer), epochs and min steps above.
FULL_TIERS = ("contrastive", "plain")
DEFAULT_FULL_TIER = "contrastive"  # benchmarks/two_tier: it helps the head where the plain fine-tune hurt it


def fine_tune_due(train_size: int, labels_at_last: int, every: int = DEFAULT_FULL_EVERY) -> bool:
    """Whether ``every`` training labels have arrived since the last fine-tune (trained on ``labels_at_last``)."""
    return every > 0 and train_size - labels_at_last >= every
