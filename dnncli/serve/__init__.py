"""The serve layer: a small web service around a trained model (`dnn serve`).

``app`` builds the Starlette application around one loaded checkpoint; ``page``
is the drop page it serves at ``/`` (HTML, CSS and JS inline: no network needed).
Starlette, uvicorn and python-multipart are the optional ``serve`` extra.

Sits above report and below cli. May import: every layer below it (engine, config, data, model, run, report)
and the foundation modules.
"""
