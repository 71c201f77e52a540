"""Training that publishes: ``textal train`` on a corpus, the fast tier's head refit and measurement, and whether a
new version may replace the one serving.
"""
