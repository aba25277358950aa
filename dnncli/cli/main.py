"""The `dnn` group: every command, and the error contract around them."""

import os
import sys
import traceback

import click

from .. import __version__
from ..errors import EXIT_INTERRUPTED, EXIT_PIPE_CLOSED, RunFailure, UserError, os_error_exception
from ..files import INPUTS
from ..run.signals import release
from .calibrate import calibrate_command
from .check import check_command, config_group, init_config, summary
from .data import data
from .evaluate import evaluate_command
from .export import export_command
from .predict import predict_command
from .report import report_command
from .runs import plot, runs
from .serve import serve_command
from .sweep import lr_find, sweep_command
from .train import gradcheck, train

HOLDS_SIGNALS = "train"  # the command that takes the held stop signals over itself, with its own handlers


class DnnGroup(click.Group):
    """Turns what escapes a command into the error contract: one line, a known exit code."""

    def make_context(self, *args, **kwargs):
        try:
            return super().make_context(*args, **kwargs)  # `dnn --help` and `--version` print here
        except BrokenPipeError:
            quiet_closed_stdout()
            raise click.exceptions.Exit(EXIT_PIPE_CLOSED) from None
        except click.exceptions.NoArgsIsHelpError:
            raise  # `dnn` alone: its help
        except click.UsageError as e:
            raise usage_line(e) from None

    def resolve_command(self, ctx, args):
        name, command, rest = super().resolve_command(ctx, args)
        if command is None or command.name != HOLDS_SIGNALS:
            release()  # the stop signals the console script held from its first line (dnncli/console.py)
        return name, command, rest

    def invoke(self, ctx):
        INPUTS.clear()  # the files this command reads, which none of its outputs may replace (files.check_output)
        try:
            result = super().invoke(ctx)
            sys.stdout.flush()  # a reader gone shows here, under the rule below, not at exit
            return result
        except click.exceptions.NoArgsIsHelpError:
            raise  # `dnn data` alone: its help
        except click.UsageError as e:
            raise usage_line(e) from None
        except click.ClickException:
            if debugging(ctx):
                traceback.print_exc()
            raise
        except (click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except BrokenPipeError:
            quiet_closed_stdout()
            ctx.exit(EXIT_PIPE_CLOSED)
        except OSError as e:
            if debugging(ctx):
                raise
            raise os_error_exception(e) from None
        except Exception as e:
            if debugging(ctx):
                raise
            raise RunFailure(f"unexpected {type(e).__name__}: {e} (run with --debug for the traceback)") from None
        finally:
            INPUTS.clear()  # they were this command's: a later caller in this process has its own


def usage_line(error):
    """A usage error of click's (a bad option value, a missing argument, a command misspelt) as every other error:
    one line, exit 2, naming where the help is, instead of click's usage, hint, blank line and error."""
    names, ctx = [], error.ctx
    while ctx is not None and ctx.parent is not None:  # the root's name is however dnn was started
        names.append(ctx.info_name)
        ctx = ctx.parent
    where = " ".join(["dnn", *reversed(names)])
    return UserError(f"{error.format_message().rstrip('.')} (see `{where} --help`)")


def quiet_closed_stdout():
    """The reader of standard output went away (``dnn ... | head -1``): stop as shell tools do, saying nothing.

    Whatever is still buffered goes nowhere, so Python's flush at exit cannot complain either.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass  # no real file descriptor (an in-process runner): nothing left to flush


def debugging(ctx):
    return ctx.find_root().meta.get("dnn.debug") or os.environ.get("DNN_DEBUG", "") not in ("", "0")


@click.group(cls=DnnGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dnn")
@click.option("--debug", is_flag=True, help="Show the traceback of an error (also DNN_DEBUG=1).")
@click.pass_context
def main(ctx, debug):
    """Train deep fully-connected networks from a YAML config, with a NumPy engine.

    \b
    dnn data demo --out data/demo     make the built-in demo data set
    dnn train --config configs/demo.yaml
    """
    ctx.meta["dnn.debug"] = debug


for command in (
    train,
    gradcheck,
    check_command,
    config_group,
    init_config,
    summary,
    evaluate_command,
    calibrate_command,
    predict_command,
    runs,
    plot,
    report_command,
    data,
    sweep_command,
    lr_find,
    export_command,
    serve_command,
):
    main.add_command(command)
