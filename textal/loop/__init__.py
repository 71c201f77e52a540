"""The active-learning loop offline: simulation learners (the fast tier, the two-tier loop, mixed committees),
simulated annotators, the simulation and its learning curves.
"""
