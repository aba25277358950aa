"""dnn: train deep fully-connected networks from a YAML config, with a NumPy engine."""

__version__ = "0.1.0"
