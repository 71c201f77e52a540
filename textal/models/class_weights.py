"""How the logistic heads weigh classes: the choices, the active-learning loop's default, the check.

Labels asked by uncertainty are skewed towards the class the serving model doubts (on SMS spam, 54 of
the first 60 under a base model were spam): an unweighted head then answers that class everywhere.
``balanced`` is the default of the worker and of ``textal simulate``, as measured in
``benchmarks/class_weight``. Light on purpose: the backend's settings read it without loading ML.
"""

from __future__ import annotations

from textal.errors import ModelError

CLASS_WEIGHTS = ("balanced", "none")
DEFAULT_CLASS_WEIGHT = "balanced"


def class_weight_param(name: str | None) -> str | None:
    """``--class-weight`` as scikit-learn takes it (``none`` -> None); a ModelError naming the choices otherwise."""
    if name is None or name == "none":
        return None
    if name == "balanced":
        return name
    raise ModelError(f"class weight must be one of {', '.join(CLASS_WEIGHTS)}, not {name!r}")
