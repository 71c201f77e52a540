"""How textal runs: the one reader of the environment (``settings``), progress, log lines, BLAS threads, crash-safe
files.
"""
