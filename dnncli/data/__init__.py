"""The data layer: data sets in HDF5 files and folders of pictures, the one picture decoder, the demo sets.

May import: the config below it (its schema's defaults) and the foundation modules (errors, files, resources,
text). No click, no printing: warnings and progress go
back to the caller through the callbacks it passes.
"""
