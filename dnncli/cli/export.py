"""`dnn export`: a trained model as an ONNX file, pictures or a table's raw columns to the model's answer."""

import click

from ..extras import missing_extra
from .options import chosen_model, model_options, named_path


@click.command("export")
@model_options
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False),
    required=True,
    callback=named_path(),
    help="The ONNX file to write.",
)
@click.option(
    "--dtype",
    type=click.Choice(["float32", "float64"]),
    help="Float type the exported model computes in [default: the checkpoint's].",
)
def export_command(run_folder, checkpoint_file, best, out_file, dtype):
    """Write a trained model as an ONNX file (needs the optional export extra).

    A picture model takes uint8 pictures of shape (N, H, W, C), any N (C is 1
    for a grey model), scales them as dnn does, and gives the class
    probabilities (N, K) and the class index (N,) that dnn predict picks. The
    class names, input shape, scaling, the fit that makes a picture that shape
    (data.fit) and dnn version are in its metadata.

    A table model takes one input of shape (N,) per feature column, named as
    the column: numbers and booleans (0 or 1) as float64 with NaN for a missing
    cell, categories as text (empty, or NA and the other spellings of a
    missing cell in a CSV file, for a missing one). It encodes them as
    training did and gives the probabilities and class index, or for a number
    to predict, predicted (N, targets) in the target's units. The columns,
    their kinds and categories, and the classes or targets are in its metadata.

    The last line printed is the file.

    \b
    dnn export --out model.onnx
    dnn export --run runs/cat/2 --best --out cat.onnx --dtype float32
    """
    from ..files import check_output
    from ..model.predict import usable_model
    from ..text import decimal_size, plural, short_path

    try:
        import onnx  # noqa: F401
    except ImportError:
        raise missing_extra("dnn export", "export", "onnx") from None
    from ..model.onnx_export import export

    out = check_output(out_file)
    path = chosen_model(run_folder, checkpoint_file, best)
    saved = usable_model(path)  # checked as predict and serve check it: a table model, or one of pictures
    size = export(saved, out, dtype)
    layers = " -> ".join(map(str, saved.net.layers))
    if saved.takes_tables:
        takes = f"{plural(len(saved.encoder.columns), 'column')} (N,) each"
    else:
        takes = f"uint8 pictures (N, {', '.join(map(str, saved.input_shape))})"
    click.echo(
        f"{short_path(path)} (iteration {saved.iteration}): {layers} ({saved.net.output}), "
        f"{takes}, {dtype or saved.header['dtype']}, {decimal_size(size)}"
    )
    click.echo(str(out))
