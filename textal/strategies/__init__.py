"""Query strategies: score every pool item, pick a batch. ``get_strategy("entropy.v1").select(pool, n, rng)``.

Importing this package registers every strategy; ``list_strategies()`` names them with a line each.
"""

from textal.strategies import (  # noqa: F401  (registration)
    disagreement,
    diversity,
    hybrid_v1,
    hybrid_v2,
    random_sampling,
    uncertainty,
)
from textal.strategies.default import DEFAULT_STRATEGY
from textal.strategies.registry import (
    Pool,
    Selection,
    Strategy,
    StrategyError,
    get_strategy,
    list_strategies,
    register,
    resolve_name,
)

__all__ = [
    "DEFAULT_STRATEGY",
    "Pool",
    "Selection",
    "Strategy",
    "StrategyError",
    "get_strategy",
    "list_strategies",
    "register",
    "resolve_name",
]
