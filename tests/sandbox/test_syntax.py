"""The syntax check of app code: what compiles in the sandbox passes, and an error says where."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.sandbox.helpers import NODE_READY, example_app
from vumigo.sandbox.syntax import SyntaxCheckUnavailable, SyntaxProblem, check_syntax

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="needs node")


@needs_node
@pytest.mark.parametrize(
    ("source", "message", "line", "column", "source_line"),
    [
        ("var a = 1;\nvar b = ;\n", "SyntaxError: Unexpected token ';'", 2, 9, "var b = ;"),
        ("let a;\nlet a;", "SyntaxError: Identifier 'a' has already been declared", 2, 5, "let a;"),
        # The sandbox runs a script, not a module: no top-level return, no import.
        ("return 1;", "SyntaxError: Illegal return statement", 1, 1, "return 1;"),
        (
            "import x from 'y';",
            "SyntaxError: Cannot use import statement outside a module",
            1,
            1,
            "import x from 'y';",
        ),
        (
            "var s = 'ünïcode' +;",
            "SyntaxError: Unexpected token ';'",
            1,
            20,
            "var s = 'ünïcode' +;",
        ),
    ],
)
async def test_errors_say_what_and_where(
    source: str, message: str, line: int, column: int, source_line: str
) -> None:
    problem = await check_syntax(source)
    assert problem == SyntaxProblem(message, line, column, source_line)
    assert str(problem) == f"{message} (line {line}, column {column})"
    assert problem.excerpt == f"{source_line}\n{' ' * (column - 1)}^"


@needs_node
async def test_code_ending_too_soon_names_the_last_line() -> None:
    problem = await check_syntax("function f() {\n    var a = 1;\n")
    assert problem == SyntaxProblem("SyntaxError: Unexpected end of input", 3)
    assert str(problem) == "SyntaxError: Unexpected end of input (line 3)"


@needs_node
async def test_code_that_compiles_passes_and_is_not_run() -> None:
    assert await check_syntax("var a = 1;\n") is None
    # Compiled only: an app that would throw, or never end, when run still passes at once.
    assert await check_syntax("throw new Error('boom');") is None
    assert await check_syntax("while (true) {}") is None
    if NODE_READY:
        assert await check_syntax(example_app("simple")) is None


@needs_node
async def test_a_long_line_is_cut_around_the_error() -> None:
    problem = await check_syntax("x" * 1000 + " +;")
    assert problem is not None and problem.line == 1 and problem.column == 1003
    assert problem.excerpt is not None
    text, caret = problem.excerpt.split("\n")
    assert len(text) == 200 and text.endswith(" +;")
    assert text[len(caret) - 1] == ";" and caret.strip() == "^"


def test_a_problem_without_a_place_is_just_its_message() -> None:
    problem = SyntaxProblem("SyntaxError: odd")
    assert str(problem) == "SyntaxError: odd" and problem.excerpt is None


async def test_no_node_is_reported_not_taken_for_a_pass(tmp_path: Path) -> None:
    with pytest.raises(SyntaxCheckUnavailable, match="cannot run node"):
        await check_syntax("var a;", node=str(tmp_path / "no-such-node"))
    failing = tmp_path / "failing-node"
    failing.write_text("#!/bin/sh\necho 'node: bad option' >&2\nexit 9\n")
    failing.chmod(0o755)
    with pytest.raises(SyntaxCheckUnavailable, match="node: bad option"):
        await check_syntax("var a;", node=str(failing))
    slow = tmp_path / "slow-node"
    slow.write_text("#!/bin/sh\nexec sleep 30\n")
    slow.chmod(0o755)
    with pytest.raises(SyntaxCheckUnavailable, match=r"longer than 0\.2 s"):
        await check_syntax("var a;", node=str(slow), timeout=0.2)
