"""The web service around one loaded checkpoint: POST /predict, GET /info, GET /health and the drop page at /.

Uploads are read by ``load_picture`` (the one decoder) from their bytes and
classified by ``model.predict.predictions``, so a picture gets exactly the
record ``dnn predict --json`` gives its file, whatever else came with it.
Nothing in a request names a file: an upload's name is only echoed back.
A table model takes JSON rows or a table file instead (``serve.tables``), under the same limits and
``max_rows``.

Each picture is answered on its own, as ``dnn predict`` does: a picture that does not decode, is truncated or
is a decompression bomb is named in ``problems`` (its name and the error) beside the ``predictions`` of the
others, with 200; only when no picture of the request can be classified is the answer 422.

Limits, each answered with a JSON error while the service goes on serving:
the body is counted while it is read and refused past ``max_upload_bytes``
(413), as are more than ``max_pictures`` pictures (413), and a body that has not
all come within ``body_seconds`` is 408 (a client sending a byte at a time holds
nothing open for long). A body that is no multipart/form-data is 400, logged in
one line of the server's own. Decoding and the forward pass run in worker
threads, at most ``PREDICTION_THREADS`` at a time: the event loop keeps
answering, and memory stays bounded by that many pictures being decoded at once.
"""

import logging
from dataclasses import dataclass

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from .. import __version__
from ..data.pictures import PictureBytes
from ..errors import UserError
from ..model.answers import UNSURE
from ..model.predict import predictions
from ..text import finite_json, plural
from . import tables
from .page import PAGE, PAGE_HEADERS
from .table_page import TABLE_PAGE

PREDICTION_THREADS = 2  # pictures decoded and classified at once (the machine this was written on has 2 cores)
DRAIN_FACTOR = 4  # past the limit, read and discard up to this many limits more, so the client sees the 413
LOG = logging.getLogger("uvicorn.error")  # the server's own log, as uvicorn shows it


@dataclass(frozen=True)
class Limits:
    max_upload_bytes: int = 20 * 1000 * 1000
    max_pictures: int = 64
    max_rows: int = 10_000
    body_seconds: float = 30.0  # the longest a request's body may take to arrive


class BodyTooLarge(Exception):
    pass


def error(status, message, headers=None, **extra):
    return JSONResponse({"error": message, **extra}, status_code=status, headers=headers)


def client_of(request):
    client = request.client
    return f"{client.host}:{client.port}" if client else "a client"


def create_app(saved, checkpoint_path, which="last", limits=Limits(), min_confidence=None):
    """The Starlette app serving ``saved``, a loaded ``Checkpoint`` read from ``checkpoint_path``; ``which`` is
    "last", "best" (a run's best.npz) or "file" (any other checkpoint file), as /info says. Below
    ``min_confidence`` an answer is ``unsure``."""
    limiter = anyio.CapacityLimiter(PREDICTION_THREADS)
    info = model_info(saved, checkpoint_path, which, limits) | answers_info(saved, min_confidence)
    shown_page = TABLE_PAGE if saved.takes_tables else PAGE
    logging.getLogger("python_multipart").setLevel(logging.ERROR)  # its warnings are told once, below, in our words

    async def page(request):
        return HTMLResponse(shown_page, headers=PAGE_HEADERS)

    async def health(request):
        return JSONResponse({"status": "ok"})

    async def model(request):
        return JSONResponse(info)

    async def predict(request):
        declared = request.headers.get("content-length")
        if declared and declared.isascii() and declared.isdigit() and int(declared) > limits.max_upload_bytes:
            if request.headers.get("expect", "").lower() != "100-continue":  # else the client has not sent it yet
                await drain(request.receive, int(declared), limits.max_upload_bytes * DRAIN_FACTOR)
            return too_large(limits)
        if saved.takes_tables and request.headers.get("content-type", "").startswith("application/json"):
            return await table_rows(request)
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            if saved.takes_tables:
                return error(400, tables.WRONG_TYPE)
            return error(400, "send the pictures as multipart/form-data, one file part each")
        body = counted(request.stream(), limits.max_upload_bytes)
        try:
            with anyio.fail_after(limits.body_seconds):
                form = await MultiPartParser(request.headers, body, max_files=float("inf")).parse()
        except BodyTooLarge:
            await drain(request.receive, None, limits.max_upload_bytes * DRAIN_FACTOR)
            return too_large(limits)
        except TimeoutError:
            return too_slow(limits)
        except MultiPartException as e:
            message = f"not a readable multipart/form-data body ({e.message.rstrip('.')})"
            LOG.warning("%s: %s", client_of(request), message)
            return error(400, message)
        try:
            uploads = [value for _, value in form.multi_items() if not isinstance(value, str)]
            if saved.takes_tables:
                return answer(
                    *await anyio.to_thread.run_sync(
                        tables.upload_answer, saved, uploads, limits, min_confidence, limiter=limiter
                    )
                )
            if not uploads:
                return error(400, "no pictures: send each as a file part of a multipart/form-data body")
            if len(uploads) > limits.max_pictures:
                return error(413, f"{len(uploads)} pictures; at most {limits.max_pictures} in one request")
            records, problems = await anyio.to_thread.run_sync(
                classify_uploads, saved, uploads, min_confidence, limiter=limiter
            )
        finally:
            await form.close()
        if not records:
            count = f"{len(problems)} of {plural(len(uploads), 'picture')}"
            return error(422, f"{count} could not be read; nothing was classified", problems=problems)
        return JSONResponse({"predictions": records, "problems": problems})

    async def table_rows(request):
        try:
            with anyio.fail_after(limits.body_seconds):
                body = b"".join([chunk async for chunk in counted(request.stream(), limits.max_upload_bytes)])
        except BodyTooLarge:
            await drain(request.receive, None, limits.max_upload_bytes * DRAIN_FACTOR)
            return too_large(limits)
        except TimeoutError:
            return too_slow(limits)
        return answer(
            *await anyio.to_thread.run_sync(tables.rows_answer, saved, body, limits, min_confidence, limiter=limiter)
        )

    async def http_error(request, exc):
        return error(exc.status_code, exc.detail)

    async def server_error(request, exc):
        if isinstance(exc, UserError):  # the model, not the request: its weights overflow on these pictures, say
            what = "predict these rows" if saved.takes_tables else "classify these pictures"
            return error(500, f"the model cannot {what}: {exc.format_message()}")
        return error(500, f"internal error ({type(exc).__name__}); the service goes on")

    return Starlette(
        routes=[
            Route("/", page),
            Route("/health", health),
            Route("/info", model),
            Route("/predict", predict, methods=["POST"]),
        ],
        exception_handlers={HTTPException: http_error, Exception: server_error},
    )


def classify_uploads(saved, uploads, min_confidence=None):
    """``(records, problems)`` for the uploaded files, in a worker thread: records as ``dnn predict --json``."""
    pictures = []
    for i, upload in enumerate(uploads, start=1):
        upload.file.seek(0)
        pictures.append(PictureBytes(upload.file.read(), upload.filename or f"picture {i}"))
    problems = []

    def failed(picture, e):
        problems.append({"picture": str(picture), "error": e.format_message()})

    records = list(predictions(saved, pictures, None, failed, min_confidence))
    return records, problems


def too_slow(limits):
    message = f"the body did not all come within {limits.body_seconds:g} s (--body-timeout)"
    return error(408, message, headers={"connection": "close"})


async def counted(stream, limit):
    """The chunks of ``stream``; ``BodyTooLarge`` as soon as they add up to more than ``limit`` bytes."""
    seen = 0
    async for chunk in stream:
        seen += len(chunk)
        if seen > limit:
            raise BodyTooLarge
        yield chunk


async def drain(receive, declared, cap):
    """Read and drop the rest of a refused body (up to ``cap`` bytes), so the client is not cut off mid-upload."""
    if declared is not None and declared > cap:
        return
    seen = 0
    while seen <= cap:
        message = await receive()
        if message["type"] != "http.request":
            return
        seen += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


def answer(status, content):
    return JSONResponse(finite_json(content), status_code=status)


def too_large(limits):
    return error(413, f"the upload is over {limits.max_upload_bytes / 1e6:g} MB (--max-upload-mb)")


def model_info(saved, checkpoint_path, which, limits):
    model = {
        "checkpoint": str(checkpoint_path),
        "run": str(checkpoint_path.parent),
        "model": which,
        "iteration": saved.iteration,
        "layers": list(saved.net.layers),
        "activations": list(saved.net.activations),
        "output": saved.net.output,
    }
    if saved.takes_tables:
        takes = {
            **tables.table_info(saved),
            "dtype": saved.header["dtype"],
            "max_upload_bytes": limits.max_upload_bytes,
        }
        return {**model, **takes, "max_rows": limits.max_rows, "dnn_version": __version__}
    return {
        **model,
        "data": "pictures",
        "classes": saved.classes,
        "input_shape": list(saved.input_shape),
        "fit": saved.fit,
        "dtype": saved.header["dtype"],
        "max_upload_bytes": limits.max_upload_bytes,
        "max_pictures": limits.max_pictures,
        "dnn_version": __version__,
    }


def answers_info(saved, min_confidence):
    """What /info says of how the answers are made: the temperature and two-class threshold the model uses, the
    least confidence answered (else ``unsure``), and whether inputs are measured for unfamiliarity."""
    return {
        "temperature": saved.temperature,
        "threshold": saved.threshold if saved.net.output == "sigmoid" else None,
        "min_confidence": min_confidence,
        "unsure": UNSURE,
        "familiarity": saved.familiarity is not None,
    }
