"""Names the data layer and the command line share; plain Python, so the CLI can offer them without loading
h5py or Pillow."""

SPLITS = ("train", "test")  # the splits a data file or a folder set may hold, in this order
# dnn data import --compression: name -> (h5py's filter, its level); gzip's higher levels shrink pictures hardly more
COMPRESSION = {"lzf": ("lzf", None), "gzip": ("gzip", 1), "none": (None, None)}
DEMO_MAX_CLASSES = 4  # the demo's classes beyond two are told apart by colour, and it has four colours
DEMO_LAYOUTS = ("hdf5", "folder")  # dnn data demo --format: data files, or pictures in a folder per class
