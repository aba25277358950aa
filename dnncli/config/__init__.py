"""The config layer: the YAML schema, its checks, and the one builder from a resolved config to the engine.

May import: the engine (for its name tables), the foundation modules (errors, files). Never data, runs or the CLI.
"""
