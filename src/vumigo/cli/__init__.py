"""The operator's command line: ``vumigo <group> <command> ...``.

One module per command group, each listing its click groups or commands in ``COMMANDS``; this
one holds the root group, its options, the discovery of those modules and ``main``, the
console script's entry point.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from typing import Any

import click

from vumigo import __version__
from vumigo.cli.common import State, VumigoGroup


class RootGroup(VumigoGroup):
    """Reports every failure as one ``error: ...`` line: status 2 for usage, 1 otherwise."""

    def main(
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            code = result if isinstance(result, int) else 0
        except click.exceptions.NoArgsIsHelpError as exc:
            exc.show()  # a bare group name: its help is the useful answer
            code = exc.exit_code
        except click.ClickException as exc:
            message = " ".join(exc.format_message().split())
            if isinstance(exc, click.UsageError) and exc.ctx is not None:
                message = f"{message.rstrip('.')} (see '{exc.ctx.command_path} --help')"
            click.echo(f"error: {message}", err=True)
            code = exc.exit_code
        except click.Abort:
            click.echo("error: aborted", err=True)
            code = 1
        if not standalone_mode:
            return code
        sys.exit(code)


@click.group(cls=RootGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    envvar="VUMIGO_CONFIG",
    help="TOML settings file (environment variables VUMIGO_* still win).",
)
@click.option("--json", "json_output", is_flag=True, help="Print machine-readable JSON.")
@click.version_option(__version__, prog_name="vumigo")
@click.pass_context
def cli(ctx: click.Context, config_file: str | None, json_output: bool) -> None:
    """Vumi Go: run the platform and manage its accounts, channels and apps.

    Storage is VUMIGO_DATABASE_URL, or a SQLite file under VUMIGO_DATA_DIR (default ./var).
    """
    state = ctx.ensure_object(State)
    state.config_file = config_file
    state.json_output = state.json_output or json_output


def _add_command_modules() -> None:
    """Adds the groups of every module here that lists them in ``COMMANDS``.

    Discovered rather than listed, so a new command group is one new module and nothing else.
    """
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda found: found.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for command in getattr(module, "COMMANDS", ()):
            cli.add_command(command)


_add_command_modules()


def main() -> None:
    """The ``vumigo`` console script."""
    cli.main(prog_name="vumigo")


__all__ = ["cli", "main"]
