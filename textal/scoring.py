"""Score an unlabelled pool with a model: predictions, probabilities, informativeness, a ranking."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from textal.models.base import Classifier
from textal.strategies import Pool, get_strategy


@dataclass
class Ranking:
    """Pool items with the model's view of them; ``order`` lists indices most informative first."""

    proba: np.ndarray  # (n, k)
    predicted: list
    scores: np.ndarray  # (n,) informativeness, higher first
    order: np.ndarray  # (n,) indices, most informative first
    strategy: str


def rank_pool(model: Classifier, texts: Sequence[str], strategy: str = "entropy") -> Ranking:
    """Predict ``texts`` and order them by ``strategy``'s informativeness (uncertainty strategies)."""
    proba = model.predict_proba(list(texts))
    chosen = get_strategy(strategy)
    scores = chosen.scores(Pool(proba=proba, multi_label=model.multi_label_))
    order = np.lexsort((np.arange(len(scores)), -scores))  # stable: ties keep pool order
    return Ranking(proba=proba, predicted=model.decode(proba), scores=scores, order=order, strategy=chosen.name)
