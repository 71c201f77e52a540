"""Query strategies: score every pool item, pick a batch. ``get_strategy("entropy.v1").select(pool, n, rng)``.

Importing this package registers every strategy; ``list_strategies()`` names them with a line each.
"""

from textal.strategies import (  # noqa: F401  (registration)
    committee,
    diversity,
    hybrid,
    random_sampling,
    scheduled_hybrid,
    uncertainty,
)
from textal.strategies.base import (
    Pool,
    Selection,
    Strategy,
    StrategyError,
    get_strategy,
    list_strategies,
    register,
    resolve_name,
)
from textal.strategies.default import DEFAULT_STRATEGY

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
