"""The run layer: preparing a job, the training loop, recording its files, signals, resume, run folders.

May import: the engine, config, data, model and the foundation modules. Nothing here writes to standard output:
a run returns what happened, and reports progress through the reporter it is given.
"""
