"""A pool ranked by informativeness on one absolute scale: the scale, a file ranked chunk by chunk onto disk, and
its chunks shared among launched processes.
"""
