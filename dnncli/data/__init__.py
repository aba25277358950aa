"""The data layer: data sets in HDF5 files and folders of pictures, the one picture decoder, the demo sets.

May import: the foundation modules (errors, files, resources). No click, no printing: warnings and progress go
back to the caller through the callbacks it passes.
"""
