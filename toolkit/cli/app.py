"""The ``toolkit`` command group, its entry point, and the one place where errors become
exit codes: a :class:`~toolkit.exceptions.ToolkitError` is one ``Error: ...`` line on stderr
and its ``exit_code`` (2 for usage, 1 for data and model files); click's own usage errors
are one line too; SIGTERM cleans up like Ctrl-C.
"""

from __future__ import annotations

import signal
import sys
import warnings
from typing import Any

import click

import toolkit

# Nothing heavy is imported here or by the command modules at import time: `toolkit
# --version` and `--help` start in a fraction of a second, and each command imports what it
# uses (torch, pandas, sdmetrics ...) when it runs (tests/test_startup.py).


def show_warning(message: Warning | str, category: type[Warning], *args: Any,
                 **kwargs: Any) -> None:
    """Print a toolkit warning as one ``Warning:`` line on stderr."""
    click.echo(f"Warning: {' '.join(str(message).split())}", err=True)


class ToolkitGroup(click.Group):
    """A click group that reports toolkit errors as one line and an exit code."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Run the CLI, printing click's usage errors as one line too."""
        try:
            return super().main(*args, standalone_mode=False, **kwargs)
        except click.exceptions.Exit as done:
            sys.exit(done.exit_code)
        except click.ClickException as error:
            context = getattr(error, "ctx", None)
            hint = f" (see '{context.command_path} --help')" if context else ""
            click.echo(f"Error: {error.format_message()}{hint}", err=True)
            sys.exit(error.exit_code)
        except click.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(1)

    def invoke(self, ctx: click.Context) -> Any:
        from toolkit.exceptions import InferenceWarning, PrivacyWarning, ToolkitError

        try:
            with warnings.catch_warnings():
                # what the toolkit guessed is the user's business; libraries' chatter is not
                warnings.simplefilter("ignore")
                warnings.simplefilter("always", InferenceWarning)
                warnings.simplefilter("always", PrivacyWarning)
                warnings.showwarning = show_warning
                return super().invoke(ctx)
        except ToolkitError as error:
            message = " ".join(str(error).split("\n"))
            click.echo(f"Error: {message}", err=True)
            sys.exit(error.exit_code)


@click.group(cls=ToolkitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(toolkit.__version__, prog_name="toolkit")
def cli() -> None:
    """Learn the latent structure of a table (or images): generate synthetic records, score
    anomalies, and report on quality and privacy."""


def terminate(signum: int, frame: Any) -> None:
    """SIGTERM: leave like Ctrl-C does, running the clean-up of half-written outputs."""
    click.echo("Error: terminated (SIGTERM); no output was left half-written", err=True)
    raise SystemExit(128 + signum)


def main() -> None:
    """Entry point of the ``toolkit`` console script."""
    signal.signal(signal.SIGTERM, terminate)
    cli(prog_name="toolkit")
