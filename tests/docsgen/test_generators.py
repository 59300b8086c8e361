"""The generated pages describe the code as it is: a changed field, command or setting changes
its page, and the check names the page that went stale."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from vumigo import docsgen
from vumigo.docsgen import cli as cli_page
from vumigo.docsgen import config as config_page
from vumigo.docsgen import openapi as openapi_page
from vumigo.docsgen import sandbox as sandbox_page
from vumigo.sandbox.resources import CommandDoc
from vumigo.sandbox.resources.kv import KeyValueResource


def test_every_resource_of_the_package_is_documented() -> None:
    names = [cls.name for cls in sandbox_page.resource_classes()]
    assert names == sorted(names)
    assert {
        "config",
        "contacts",
        "groups",
        "http",
        "kv",
        "log",
        "messagestore",
        "metrics",
        "optout",
        "outbound",
    } <= set(names)
    page = sandbox_page.render()
    for cls in sandbox_page.resource_classes():
        for command in cls.describe().commands:
            assert f"### `{cls.name}.{command.name}` {{#{cls.name}-{command.name}}}" in page


def test_the_sandbox_page_shows_fields_replies_errors_and_limits() -> None:
    page = sandbox_page.render()
    kv_set = page[page.index("### `kv.set`") : page.index("### `kv.delete`")]
    assert "| `seconds` | integer lifetime in seconds" in kv_set
    assert "| `success` | true (on failure: false, with a reason) |" in kv_set
    assert "- `Too many keys`" in kv_set
    assert "| keys per account | 10000 (setting VUMIGO\\_JSBOX\\_KV\\_MAX\\_KEYS)" in page
    assert "| time per request | 30 seconds" in page


def test_changing_a_resources_fields_makes_its_page_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rendered = {sandbox_page.PATH: sandbox_page.render()}
    assert docsgen.write(tmp_path, rendered) == [sandbox_page.PATH]
    assert docsgen.stale(tmp_path, {sandbox_page.PATH: sandbox_page.render()}) == []
    # A new request field on kv.get, as a change to the resource would make it.
    attr, doc = KeyValueResource._commands["get"]
    changed = CommandDoc(
        doc.name, doc.summary, {**doc.request, "default": "any JSON"}, doc.reply, doc.errors
    )
    monkeypatch.setitem(KeyValueResource._commands, "get", (attr, changed))
    assert docsgen.stale(tmp_path, {sandbox_page.PATH: sandbox_page.render()}) == [
        sandbox_page.PATH
    ]


def test_the_cli_page_has_every_command_with_its_options() -> None:
    from vumigo.cli import cli

    page = cli_page.render()
    ctx = click.Context(cli, info_name="vumigo")
    for name in cli.list_commands(ctx):
        assert f"### `vumigo {name}`" in page
    assert "#### `vumigo docs generate`" in page
    assert "| `--check` | flag | Change nothing; fail if a page is out of date. |" in page
    assert "| `--limit` | `INTEGER RANGE` |" in page and "range `1<=x<=10000`" in page


def test_the_configuration_page_has_every_setting() -> None:
    from vumigo.config import Settings

    page = config_page.render()
    for name in Settings.model_fields:
        assert f"`VUMIGO_{name.upper()}`<br>`{name}`" in page
    assert "| `VUMIGO_HTTP_API_PUSH_TIMEOUT` | `5` | seconds one push may take |" in page


def test_docstring_variables_are_read_in_both_styles() -> None:
    class Module:
        __doc__ = """Settings.

        - ``ONE`` [1]: the first,
          over two lines.
        - ``TWO`` [none]: the second.

        Run in: ``THREE`` [3] seconds; ``FOUR`` [4] more.
        """

    found = config_page.docstring_variables(Module)  # type: ignore[arg-type]
    assert found == [
        ("ONE", "1", "the first, over two lines."),
        ("TWO", "none", "the second."),
        ("THREE", "3", "seconds"),
        ("FOUR", "4", "more."),
    ]


def test_the_http_api_page_renders_the_openapi_document() -> None:
    document = {
        "paths": {
            "/x/{key}": {
                "put": {
                    "tags": ["things"],
                    "summary": "Change a thing",
                    "parameters": [
                        {
                            "name": "key",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["name"],
                                    "properties": {"name": {"type": ["string", "null"]}},
                                }
                            }
                        }
                    },
                    "responses": {"200": {"description": "Done"}, "422": {"description": "x"}},
                }
            }
        },
        "components": {"schemas": {}},
    }
    page = openapi_page.render(document)
    assert "## Things\n\n### PUT `/x/{key}`\n\nChange a thing\n" in page
    assert "| `key` | path | yes | string |   |" in page
    assert "| `name` | string or null | yes |   |" in page
    assert "| `200` | Done | any JSON |" in page and "`422`" not in page


def test_schema_types_read_naturally() -> None:
    assert openapi_page.schema_type({"type": "array", "items": {"$ref": "#/c/s/Contact"}}) == (
        "array of Contact"
    )
    assert openapi_page.schema_type({"enum": [None, "new"]}) == 'one of null, "new"'
    assert openapi_page.schema_type({"anyOf": [{"type": "string"}, {"type": "null"}]}) == (
        "string or null"
    )
