"""Names the data layer and the command line share; plain Python, so the CLI can offer them without loading
h5py or Pillow."""

SPLITS = ("train", "test")  # the splits a data file or a folder set may hold, in this order
# dnn data import --compression: name -> (h5py's filter, its level); gzip's higher levels shrink pictures hardly more
COMPRESSION = {"lzf": ("lzf", None), "gzip": ("gzip", 1), "none": (None, None)}
# data.channels, --channels: a picture decoded to grey (1) or RGB (3); the config's schema lists the same
CHANNELS = (1, 3)
DEFAULT_CHANNELS = 3
# data.fit, --fit: how a picture not of the model's shape is made to fit it (data.pictures.FITS does each)
FITS = ("squash", "crop", "pad")
DEFAULT_FIT = "squash"
DEMO_MAX_CLASSES = 4  # the demo's classes beyond two are told apart by colour, and it has four colours
DEMO_LAYOUTS = (
    "hdf5",
    "folder",
    "table",
)  # dnn data demo --format: data files, pictures in a folder per class, a CSV table
