"""The model layer: checkpoints, and what a trained model does with data (scores, predictions, evaluations).

May import: the engine, config, data and the foundation modules.
"""
