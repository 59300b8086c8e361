"""The sandbox resources reference, from the resources' own declarations.

Every resource module in :mod:`vumigo.sandbox.resources` is imported and each resource class in
it described (:meth:`~vumigo.sandbox.resources.Resource.describe`): its docstrings, its limits,
and every command's request fields, reply fields and failure reasons. A resource added, or a
field changed, therefore changes this page; ``vumigo docs generate --check`` notices when the
committed page was not regenerated.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil

from vumigo.docsgen.markdown import cell, code, from_docstring, generated_notice, inline, table
from vumigo.sandbox import resources as resources_package
from vumigo.sandbox.limits import DEFAULT_MODULES, MiB, ResourceLimits, SandboxSettings
from vumigo.sandbox.resources import CommandDoc, Resource, ResourceDoc

PATH = "reference/sandbox-resources.md"

# Run limits worth an app developer's attention, with the setting that changes each (the
# rest of SandboxSettings is about how processes are isolated; see the configuration page).
_RUN_LIMITS: tuple[tuple[str, str, str], ...] = (
    ("timeout", "wall-clock seconds for one message or event, requests included", "TIMEOUT"),
    ("output_limit", "bytes of output (protocol lines and logs) for one message", ""),
    ("heap_mb", "MiB of JavaScript heap", ""),
    ("messages_per_process", "messages a warm process serves before it is replaced", ""),
)


def resource_classes() -> list[type[Resource]]:
    """Every resource class defined in a module of the resources package, by resource name."""
    found: dict[str, type[Resource]] = {}
    for info in pkgutil.iter_modules(resources_package.__path__):
        module = importlib.import_module(f"{resources_package.__name__}.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Resource) and cls.__module__ == module.__name__ and cls.name:
                found[cls.name] = cls
    return [found[name] for name in sorted(found)]


def _default(name: str) -> object:
    for item in dataclasses.fields(SandboxSettings):
        if item.name == name:
            return item.default
    raise KeyError(name)


def _size(value: object) -> str:
    if isinstance(value, int) and value >= MiB and value % MiB == 0:
        return f"{value // MiB} MiB"
    return str(value)


def _run_limits() -> str:
    rows = []
    for name, what, env in _RUN_LIMITS:
        value = _size(_default(name))
        setting = code(f"VUMIGO_JSBOX_{env}") if env else "—"
        rows.append([cell(what), code(str(value)), setting])
    rlimits = ResourceLimits()
    rows.append(
        [
            "memory (address space) of a sandbox process",
            code(_size(rlimits.address_space)),
            "—",
        ]
    )
    modules = ", ".join(code(m) for m in DEFAULT_MODULES)
    rows.append(
        [
            "modules an app may `require`",
            modules,
            code("VUMIGO_JSBOX_EXTRA_MODULES") + " adds more",
        ]
    )
    return table(["limit", "default", "setting"], rows)


def _fields(fields: dict[str, str] | None, always: dict[str, str] | None = None) -> str:
    rows = [[code(name), cell(text)] for name, text in {**(always or {}), **(fields or {})}.items()]
    if not rows:
        return "No fields.\n"
    return table(["field", "description"], rows)


def _command(resource: str, doc: CommandDoc) -> str:
    full = f"{resource}.{doc.name}"
    parts = [f"### `{full}` {{#{resource}-{doc.name}}}\n", inline(doc.summary) + "\n"]
    parts += ["**Request**\n", _fields(dict(doc.request))]
    parts += [
        "**Reply**\n",
        _fields(dict(doc.reply), {"success": "true (on failure: false, with a reason)"}),
    ]
    if doc.errors:
        parts.append("**Failure reasons**\n")
        parts.append("".join(f"- {code(reason)}\n" for reason in doc.errors))
    return "\n".join(parts)


def _details(doc: ResourceDoc) -> str:
    """The module docstring without its title paragraph ("The ``kv`` resource: ...")."""
    paragraphs = doc.details.split("\n\n")
    if paragraphs and paragraphs[0].startswith(f"The ``{doc.name}`` resource"):
        paragraphs = paragraphs[1:]
    return "\n\n".join(paragraphs).strip()


def _resource(doc: ResourceDoc) -> str:
    parts = [f"## `{doc.name}` {{#{doc.name}}}\n", inline(doc.summary.split("\n\n")[0]) + "\n"]
    details = _details(doc)
    if details:
        parts.append(from_docstring(details))
    if doc.limits:
        parts.append("**Limits**\n")
        parts.append(table(["limit", "value"], [[cell(k), cell(v)] for k, v in doc.limits.items()]))
    parts += [_command(doc.name, command) for command in doc.commands]
    return "\n".join(parts)


def render() -> str:
    docs = [cls.describe() for cls in resource_classes()]
    overview = table(
        ["resource", "what it does", "commands"],
        [
            [
                f"[`{d.name}`](#{d.name})",
                cell(d.summary.split("\n\n")[0]),
                ", ".join(f"[`{c.name}`](#{d.name}-{c.name})" for c in d.commands),
            ]
            for d in docs
        ],
    )
    intro = f"""# Sandbox resources

An app in the JavaScript sandbox reaches the platform only through *resources*. It sends a
request such as `kv.get` with its fields and gets one reply; with vumigo_v02,
`im.api_request("kv.get", {{key: "visits"}})` returns a promise of that reply. Every reply
carries `success`; a failed one carries `success: false` and a `reason`, which the toolkit
raises as an error. A request for a resource or command that does not exist ends the run.

This page is generated from the resources themselves, so it lists exactly what this version
of the platform offers. How apps are built is in [JavaScript apps](../jsbox/apps.md).

## Limits of every run

{_run_limits()}
## Resources

{overview}"""
    body = "\n".join(_resource(doc) for doc in docs)
    return generated_notice("the modules of vumigo.sandbox.resources") + intro + "\n" + body
