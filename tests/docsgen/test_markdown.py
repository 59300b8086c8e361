"""Docstring text to Markdown: code spans kept, markup escaped, literal blocks fenced."""

from __future__ import annotations

from vumigo.docsgen.markdown import cell, code, from_docstring, inline, slug, table


def test_inline_keeps_code_and_escapes_what_markdown_or_html_would_eat() -> None:
    assert inline("``kv.get`` on <account key>") == "`kv.get` on \\<account key\\>"
    assert inline("a [b] c_d *e* | f") == "a \\[b\\] c\\_d \\*e\\* \\| f"
    assert inline("keep `a_b <c>` as is") == "keep `a_b <c>` as is"
    assert inline(":class:`vumigo.x.Run` and :func:`~f`") == "`Run` and `f`"
    assert inline("  spread\n  over lines ") == "spread over lines"


def test_cells_are_never_empty() -> None:
    assert cell("") == " "
    assert cell("x|y") == "x\\|y"


def test_code_spans_hold_backticks() -> None:
    assert code("a") == "`a`"
    assert code("a`b") == "``a`b``"
    assert code("`a") == "`` `a ``"


def test_literal_blocks_become_fenced_code() -> None:
    text = (
        "**A group** (``group``)::\n"
        "\n"
        '    {"key": "<k>",\n'
        '     "name": "x"}\n'
        "\n"
        "After it, with <brackets>.\n"
        "- a bullet with ``code``"
    )
    assert from_docstring(text) == (
        "**A group** (`group`):\n"
        "\n"
        "```text\n"
        '{"key": "<k>",\n'
        ' "name": "x"}\n'
        "```\n"
        "\n"
        "After it, with \\<brackets\\>.\n"
        "- a bullet with `code`\n"
    )


def test_tables_and_slugs() -> None:
    assert table(["a", "b"], [["1", "2"]]) == "| a | b |\n|---|---|\n| 1 | 2 |\n"
    assert slug("vumigo contacts groups") == "vumigo-contacts-groups"
    assert slug("`vumigo http-api`") == "vumigo-http-api"
