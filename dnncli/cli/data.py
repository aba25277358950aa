"""`dnn data`: make, import and inspect data sets."""

import click

from ..data.formats import (
    CHANNELS,
    COMPRESSION,
    DEFAULT_CHANNELS,
    DEFAULT_FIT,
    DEMO_LAYOUTS,
    DEMO_MAX_CLASSES,
    FITS,
    SPLITS,
)
from ..errors import UserError
from .options import named_path, warn


def print_info(path, size=64, channels=DEFAULT_CHANNELS):
    """What ``dnn data info`` prints for an HDF5 file, a folder set or a table: a line, then a table."""
    from ..data.info import info, is_table, table_info
    from ..report.console import stdout_console
    from ..report.tables import info_table, print_columns_table

    if is_table(path):
        title, rows = table_info(path, warn=warn)
        click.echo(title)
        print_columns_table(stdout_console(), rows)
        return
    title, rows = info(path, size, warn, channels)
    click.echo(title)
    stdout_console().print(info_table(rows))


def channels_option(help):
    """``--channels``, 1 or 3 (``data.channels``), given to the command as an int."""
    return click.option(
        "--channels",
        type=click.Choice([str(c) for c in CHANNELS]),
        default=str(DEFAULT_CHANNELS),
        show_default=True,
        callback=lambda ctx, param, value: int(value),
        help=help,
    )


@click.group()
def data():
    """Make and inspect data sets."""


@data.command("demo")
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default="data/demo",
    show_default=True,
    callback=named_path("a folder name"),
    help="Folder to write into.",
)
@click.option(
    "--classes",
    type=click.IntRange(2, DEMO_MAX_CLASSES),
    default=2,
    show_default=True,
    help="2: pictures with or without a shape; 3-4: the colour of the shape is the class.",
)
@click.option(
    "--format",
    "layout",
    type=click.Choice(DEMO_LAYOUTS),
    default="hdf5",
    show_default=True,
    help="hdf5: train.h5, test.h5 and samples/; folder: the same pictures as PNG files in train/<class>/ and "
    "test/<class>/; table: plants.csv (a species and a price to learn) and new-plants.csv (rows to predict).",
)
def demo_command(out, classes, layout):
    """Write the built-in demo data set: train.h5, test.h5 and samples, a folder set, or a table.

    \b
    dnn data demo --out data/demo
    dnn data demo --format folder --out photos    # the same pictures as files, a folder per class
    dnn data demo --format table --out plants     # plants.csv and new-plants.csv
    """
    from ..data.demo import write_demo, write_demo_table

    if layout == "table" and classes != 2:
        raise UserError("--classes: for the demo pictures; the demo table has its own three species")
    for path in write_demo_table(out) if layout == "table" else write_demo(out, classes, layout):
        click.echo(str(path))


@data.command("import")
@click.argument("folder", type=click.Path())
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    callback=named_path(),
    help="HDF5 file to write (replaced if it exists).",
)
@click.option("--size", type=click.IntRange(1), default=64, show_default=True, help="Pictures become SIZE x SIZE.")
@channels_option("1: pictures become grey, 3: RGB.")
@click.option(
    "--fit",
    type=click.Choice(FITS),
    default=DEFAULT_FIT,
    show_default=True,
    help="A picture not square: squash resizes it whole, crop takes its centre, pad letterboxes it in black.",
)
@click.option(
    "--split",
    type=click.Choice(SPLITS),
    help="Keys to write a folder of classes under [default: train]; for a folder with train/ and test/, import only this one.",
)
@click.option(
    "--compression",
    type=click.Choice(list(COMPRESSION)),
    default="lzf",
    show_default=True,
    help="lzf: small and fast to read (h5py has it); gzip: read by every HDF5 tool, slower; none: fastest, largest.",
)
def import_command(folder, out, size, channels, fit, split, compression):
    """Decode a folder of pictures, a subfolder per class, into an HDF5 file.

    FOLDER holds a subfolder per class (cat/, not-cat/, ...), or train/ and
    test/ with a subfolder per class in each, which gives one file with both
    splits. Pictures are decoded and made to fit as dnn predict does, and a
    model trained on the file has predict fit pictures the same way. Pictures
    that cannot be read are listed at the end and left out; the last line
    printed is the file.

    \b
    dnn data import photos --out photos.h5
    dnn data import photos/train --out train.h5 --size 32
    dnn data import digits --out digits.h5 --size 28 --channels 1 --fit pad
    """
    from ..data.folder_sets import import_folder, skipped_text
    from ..files import check_output
    from ..report.console import decoding

    out = check_output(out)
    try:
        skipped = import_folder(folder, out, size, split, compression, warn, decoding(), channels, fit)
    except OSError as e:
        raise UserError(f"{out}: cannot write ({e.strerror or e})") from None
    print_info(out, size, channels)
    if skipped:
        warn(skipped_text(skipped))
    click.echo(str(out))


@data.command("info")
@click.argument("path", metavar="FILE_OR_FOLDER", type=click.Path())
@click.option(
    "--size",
    type=click.IntRange(1),
    default=64,
    show_default=True,
    help="Folder sets: the size pictures are decoded to (data.size).",
)
@channels_option("Folder sets: 1 for grey pictures, 3 for RGB (data.channels).")
def info_command(path, size, channels):
    """Examples, shape, dtype and classes of an HDF5 data file or a folder set; a table's columns.

    For a CSV or Parquet table, each column's kind as dnn reads it (number, category or boolean; data.columns
    in a config sets another), its missing cells, and its values in a few words.

    \b
    dnn data info photos.h5
    dnn data info photos/
    dnn data info penguins.csv
    """
    print_info(path, size, channels)
