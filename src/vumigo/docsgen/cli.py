"""The command-line reference, from the click commands themselves.

Walks ``vumigo`` and every group under it (the command modules are discovered, so a new one
appears here without being listed), and writes each command's usage, help text, arguments and
options with their defaults and ranges.
"""

from __future__ import annotations

import inspect

import click

from vumigo.docsgen.markdown import cell, code, from_docstring, generated_notice, slug, table

PATH = "reference/cli.md"


def _help(command: click.Command) -> str:
    text = inspect.cleandoc(command.help or "")
    # click's "\b" keeps a paragraph from being rewrapped in a terminal; Markdown needs none.
    return from_docstring(text.replace("\b\n", "").replace("\b", "")) if text else ""


def _type(param: click.Parameter, ctx: click.Context) -> str:
    if isinstance(param, click.Option) and param.is_flag:
        return "flag"
    if isinstance(param.type, click.Choice):
        return "one of " + ", ".join(code(str(choice)) for choice in param.type.choices)
    return code(param.make_metavar(ctx))


def _option_name(option: click.Option) -> str:
    names = ", ".join(code(opt) for opt in option.opts)
    if option.secondary_opts:
        names += " / " + ", ".join(code(opt) for opt in option.secondary_opts)
    return names


def _options(command: click.Command, ctx: click.Context) -> str:
    rows = []
    for param in command.get_params(ctx):
        if not isinstance(param, click.Option) or param.name in ("help", "_click_default_help"):
            continue
        if "--help" in param.opts:
            continue
        extra = param.get_help_extra(ctx)
        notes = []
        if "required" in extra:
            notes.append("required")
        if "default" in extra:
            notes.append(f"default {code(str(extra['default']))}")
        if "range" in extra:
            notes.append(f"range {code(str(extra['range']))}")
        if param.multiple:
            notes.append("repeatable")
        described = cell(param.help or "")
        rows.append([_option_name(param), _type(param, ctx), described, "; ".join(notes) or " "])
    if not rows:
        return ""
    return "**Options**\n\n" + table(["option", "value", "what it does", "notes"], rows)


def _arguments(command: click.Command, ctx: click.Context) -> str:
    names = [
        code(param.make_metavar(ctx))
        for param in command.get_params(ctx)
        if isinstance(param, click.Argument)
    ]
    return "**Arguments**: " + ", ".join(names) + "\n" if names else ""


def _section(command: click.Command, ctx: click.Context, level: int) -> list[str]:
    path = ctx.command_path
    usage = " ".join([path, *command.collect_usage_pieces(ctx)])
    parts = [f"{'#' * level} `{path}`\n"]
    help_text = _help(command)
    if help_text:
        parts.append(help_text)
    parts.append(f"```text\n{usage}\n```\n")
    for piece in (_arguments(command, ctx), _options(command, ctx)):
        if piece:
            parts.append(piece)
    out = ["\n".join(parts)]
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is None or sub.hidden:
                continue
            sub_ctx = click.Context(sub, info_name=name, parent=ctx)
            out += _section(sub, sub_ctx, min(level + 1, 4))
    return out


def _index(group: click.Group, ctx: click.Context) -> str:
    rows = []
    for name in group.list_commands(ctx):
        sub = group.get_command(ctx, name)
        if sub is None or sub.hidden:
            continue
        path = f"{ctx.command_path} {name}"
        rows.append([f"[`{path}`](#{slug(path)})", cell(sub.get_short_help_str(limit=200))])
    return table(["command", "what it does"], rows)


def render() -> str:
    from vumigo.cli import cli

    root = click.Context(cli, info_name="vumigo")
    intro = f"""# Command line

`vumigo` runs the platform and manages it: accounts, channels, conversations, routing,
contacts, credit. Every command reads the same settings as the platform (see
[Configuration](configuration.md)): `VUMIGO_*` environment variables, or a TOML file given
with `--config`. Commands that change data do all their work in one database transaction, so
one that fails changes nothing. Failures print one `error: ...` line and exit with status 1
(2 for a mistake in the command line itself); `--json` prints machine-readable output.

This page is generated from the commands, so it matches `vumigo --help` of this version.

{_index(cli, root)}
"""
    body = "\n".join(_section(cli, root, 2))
    return generated_notice("the vumigo command-line commands") + intro + "\n" + body
