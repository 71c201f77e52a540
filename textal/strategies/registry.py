"""The strategy contract: score every pool item, pick a batch. Registered under versioned names.

A name such as ``entropy.v1`` denotes one behaviour forever; a changed behaviour gets a new version.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from textal.errors import TextalError


class StrategyError(TextalError, ValueError):
    """A strategy was asked for something it cannot do (unknown name, missing input, bad pool)."""


@dataclass
class Pool:
    """What a strategy may look at, one row per unlabelled candidate.

    Only the fields a strategy needs must be set (``Strategy.needs`` names them).
    ``excluded`` marks rows that must never be selected (held-out slice, already labelled).
    """

    proba: np.ndarray | None = None  # (n, k) model probabilities
    embeddings: np.ndarray | None = None  # (n, d)
    committee: np.ndarray | None = None  # (m, n, k) probabilities of m committee members
    texts: Sequence[str] | None = None  # lets a batch avoid (near-)duplicate texts
    excluded: np.ndarray | None = None  # (n,) bool
    labelled_embeddings: np.ndarray | None = None  # (l, d) embeddings of labelled items
    # how many labels the model was trained on when none of them is in this pool (``textal score``)
    trained_on: int | None = None
    multi_label: bool = False
    # (n,) int: row of the first (near-)duplicate of each text, as textal.data.corpus.duplicate_groups
    # gives; filled from ``texts`` on first use and kept, so a long-lived pool pays for it once.
    groups: np.ndarray | None = None

    def __len__(self) -> int:
        for arr in (self.proba, self.embeddings, self.texts):
            if arr is not None:
                return len(arr)
        if self.committee is not None:
            return self.committee.shape[1]
        return 0


@dataclass
class Selection:
    """The batch (``indices`` into the pool) and the informativeness of every pool item."""

    indices: np.ndarray  # (b,) int
    scores: np.ndarray  # (n,) float, higher = more informative


class Strategy(ABC):
    """Base of every strategy: ``scores`` for the whole pool, ``select`` for a batch."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    needs: ClassVar[frozenset[str]] = frozenset()

    @abstractmethod
    def scores(self, pool: Pool) -> np.ndarray:
        """Informativeness of every pool item (n,), higher first."""

    @abstractmethod
    def select(self, pool: Pool, n: int, rng: np.random.Generator) -> Selection:
        """Pick ``n`` items (or all selectable when fewer remain)."""


_REGISTRY: dict[str, type[Strategy]] = {}


def register(name: str) -> Callable[[type[Strategy]], type[Strategy]]:
    """Class decorator: file a strategy under a versioned name such as ``entropy.v1``."""

    def wrap(cls: type[Strategy]) -> type[Strategy]:
        if name in _REGISTRY:
            raise StrategyError(f"strategy {name!r} is registered twice")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return wrap


def get_strategy(name: str, **params: Any) -> Strategy:
    """A strategy by registered name; a bare name (``entropy``) means its newest version."""
    resolved = resolve_name(name)
    return _REGISTRY[resolved](**params)


def resolve_name(name: str) -> str:
    """``entropy`` -> ``entropy.v1`` (the highest version); a full name must be registered."""
    if name in _REGISTRY:
        return name
    versions = sorted((int(key.rsplit(".v", 1)[1]), key) for key in _REGISTRY if key.rsplit(".v", 1)[0] == name)
    if not versions:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise StrategyError(f"unknown strategy {name!r}; known: {known}")
    return versions[-1][1]


def list_strategies() -> list[tuple[str, str]]:
    """(name, one-line description) of every registered strategy, sorted by name."""
    return sorted((name, cls.description) for name, cls in _REGISTRY.items())
