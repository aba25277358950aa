"""The report layer: progress, text and tables, plots.

May import: every layer below it (engine, config, data, model, run) and the foundation modules.
"""
