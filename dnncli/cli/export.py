"""`dnn export`: a trained model as an ONNX file, picture to probabilities."""

import click

from ..errors import UserError
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
    """Write a trained model as an ONNX file (needs the export extra: pip install 'dnncli[export]').

    The model takes uint8 pictures of shape (N, H, W, C), any N, scales them as
    dnn does, and gives the class probabilities (N, K) and the class index (N,)
    that dnn predict picks. The class names, input shape, scaling and dnn version
    are in its metadata. The last line printed is the file.

    \b
    dnn export --out model.onnx
    dnn export --run runs/cat/2 --best --out cat.onnx --dtype float32
    """
    from pathlib import Path

    from ..model.predict import picture_model
    from ..text import decimal_size, short_path

    try:
        import onnx  # noqa: F401
    except ImportError:
        raise UserError("dnn export needs the onnx package: pip install 'dnncli[export]'") from None
    from ..model.onnx_export import export

    path = chosen_model(run_folder, checkpoint_file, best)
    saved = picture_model(path)  # the ONNX model takes pictures, as predict and serve do
    out = Path(out_file)
    if not out.parent.is_dir():
        raise UserError(f"{out}: the folder {out.parent} does not exist")
    size = export(saved, out, dtype)
    layers = " -> ".join(map(str, saved.net.layers))
    click.echo(
        f"{short_path(path)} (iteration {saved.iteration}): {layers} ({saved.net.output}), "
        f"uint8 pictures (N, {', '.join(map(str, saved.input_shape))}), {dtype or saved.header['dtype']}, "
        f"{decimal_size(size)}"
    )
    click.echo(str(out))
