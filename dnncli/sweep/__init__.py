"""Sweeps: many runs of one config over a search space, locally or on a Dask cluster, and the index of them.

Sits between run/ and report/: it starts and continues trials through run.train, and report/ and cli/ show
what it returns.
"""
