"""`dnn serve`: a trained model as a small web service, with a page to drop pictures (or a table file) on."""

import click

from ..errors import UserError
from ..extras import missing_extra
from ..run.layout import BEST, CHECKPOINT
from .options import FiniteFloatRange, chosen_model, model_options


@click.command("serve")
@model_options
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on; 0.0.0.0 is every network.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="Port to listen on.")
@click.option(
    "--max-upload-mb",
    type=FiniteFloatRange(0, 1e6, min_open=True),  # up to a terabyte
    default=20,
    show_default=True,
    help="Largest request body, in MB; a bigger one gets 413 as soon as it is over.",
)
@click.option(
    "--max-pictures",
    type=click.IntRange(1),
    default=64,
    show_default=True,
    help="Most pictures in one request; more get 413.",
)
@click.option(
    "--max-rows",
    type=click.IntRange(1),
    default=10_000,
    show_default=True,
    help="Table models: most rows in one request; more get 413.",
)
@click.option(
    "--body-timeout",
    type=FiniteFloatRange(0, min_open=True),
    default=30,
    show_default=True,
    metavar="SECONDS",
    help="Longest a request's body may take to arrive; a slower one gets 408.",
)
@click.option(
    "--min-confidence",
    type=FiniteFloatRange(0, 1),
    metavar="P",
    help="Answer 'unsure' when the class's probability is below P (as dnn predict --min-confidence).",
)
@click.option("--quiet", is_flag=True, help="No line per request on stdout; on stderr, only the server's warnings.")
def serve_command(
    run_folder,
    checkpoint_file,
    best,
    host,
    port,
    max_upload_mb,
    max_pictures,
    max_rows,
    body_timeout,
    min_confidence,
    quiet,
):
    """Serve a trained model over HTTP (needs the optional serve extra).

    \b
    GET  /          a page to drop or pick pictures on
    POST /predict   pictures as multipart/form-data: records as dnn predict --json
                    (class, probability, margin, unfamiliarity, unfamiliar)
    GET  /info      the model: layers, classes, input shape, run, iteration
    GET  /health    {"status": "ok"}

    A table model takes rows instead, and gives each the record of dnn
    predict --json, or its error; /info lists its columns and their kinds:

    \b
    POST /predict   {"rows": [{"column": value, ...}, ...]} as application/json,
                    or a CSV or Parquet file as multipart/form-data (as its page
                    sends a file dropped on it)

    Each picture is answered on its own, as dnn predict does: 200 with
    "predictions" for those that decode and "problems" (picture, error) for
    those that do not; 422 only when none of them can be classified.

    Each request is logged as a line on stdout; the address served and the
    server's notices go to stderr.

    It listens on 127.0.0.1, this machine only, unless --host says otherwise:
    --host 0.0.0.0 lets anyone who can reach this machine use the model and see
    /info (its layers, classes and checkpoint path). There is no login and no TLS.

    \b
    dnn serve
    dnn serve --run runs/cat/2 --best --port 8080
    """
    import socket

    try:
        import uvicorn

        from ..serve.app import Limits, create_app
    except ImportError as e:
        raise missing_extra("dnn serve", "serve", e.name) from None
    from ..model.answers import check_min_confidence
    from ..model.predict import usable_model
    from ..text import plural, short_path

    path = chosen_model(run_folder, checkpoint_file, best)
    saved = usable_model(path)
    check_min_confidence(saved, min_confidence)
    limits = Limits(
        max_upload_bytes=int(max_upload_mb * 1e6),
        max_pictures=max_pictures,
        max_rows=max_rows,
        body_seconds=body_timeout,
    )
    app = create_app(saved, path, {BEST: "best", CHECKPOINT: "last"}.get(path.name, "file"), limits, min_confidence)
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # accepted sockets inherit it; without it each keep-alive answer waited 40 ms for a delayed ACK
        listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        listener.bind((host, port))
    except (OSError, UnicodeError) as e:  # a name no resolver takes fails in the IDNA codec
        raise UserError(
            f"--host {host} --port {port}: cannot listen there ({getattr(e, 'strerror', None) or e})"
        ) from None
    shown_host = f"[{host}]" if ":" in host else host
    if saved.regression:
        answers = f"predicting {', '.join(saved.classes)}"
    else:
        answers = plural(len(saved.classes), "class")
    takes = f", a table of {plural(len(saved.encoder.columns), 'column')}" if saved.takes_tables else ""
    click.echo(
        f"Serving {short_path(path)} (iteration {saved.iteration}, {answers}{takes}) "
        f"on http://{shown_host}:{port}/ (Ctrl+C to stop)",
        err=True,
    )
    config = uvicorn.Config(
        app, log_level="warning" if quiet else "info", access_log=not quiet, limit_concurrency=64, timeout_keep_alive=5
    )
    uvicorn.Server(config).run(sockets=[listener])
