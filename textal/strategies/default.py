"""The strategy used wherever none is named: ``textal serve``, ``textal worker``, ``textal score``, the recipes.

It is the one the side-by-side runs in ``benchmarks/peers`` crown; a full versioned name, so that
registering a newer version of it changes nothing until this line does.
"""

DEFAULT_STRATEGY = "hybrid.v2"
