"""Whether an app's JavaScript compiles, checked the way the sandbox will compile it.

``sandboxer.js`` compiles an app with ``new vm.Script(source, {filename: 'app.js'})``; a short
node program does exactly that and reports a SyntaxError's message, line and column, so code
that passes here compiles in the sandbox too. The code is compiled, never run, so the check
needs none of the sandbox's isolation.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from dataclasses import dataclass

# Reads the source on stdin, prints nothing if it compiles, else one JSON object. The caret
# line node puts in the stack gives the column.
CHECKER = r"""
const vm = require('vm');
const chunks = [];
process.stdin.on('data', (chunk) => chunks.push(chunk));
process.stdin.on('end', () => {
  try {
    new vm.Script(Buffer.concat(chunks).toString('utf8'), {filename: 'app.js'});
  } catch (err) {
    const stack = String(err && err.stack);
    // "app.js:<line>", the line's text and a caret under the column; at the end of the
    // input there is no caret, only the line.
    const line = /^app\.js:(\d+)\n/.exec(stack);
    const caret = /^app\.js:\d+\n(.*)\n(\s*)\^/.exec(stack);
    process.stdout.write(JSON.stringify({
      message: (err && err.name ? err.name + ': ' : '') + (err && err.message),
      line: line ? Number(line[1]) : null,
      column: caret ? caret[2].length + 1 : null,
      source_line: caret ? caret[1] : null,
    }));
  }
});
"""

TIMEOUT = 15.0
#: Source lines longer than this are cut in the report (minified code is one long line).
MAX_SHOWN = 200


class SyntaxCheckUnavailable(Exception):
    """node could not be run to check the code (missing, or it failed)."""


@dataclass(frozen=True, slots=True)
class SyntaxProblem:
    message: str  # e.g. "SyntaxError: Unexpected token ';'"
    line: int | None = None
    column: int | None = None
    source_line: str | None = None

    def __str__(self) -> str:
        if self.line is None:
            return self.message
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{self.message} ({where})"

    @property
    def excerpt(self) -> str | None:
        """The offending line with a caret under the column, for a ``<pre>``."""
        if self.source_line is None:
            return None
        text = self.source_line
        column = self.column or 1
        if len(text) > MAX_SHOWN:
            start = max(0, min(column - MAX_SHOWN // 2, len(text) - MAX_SHOWN))
            text = text[start : start + MAX_SHOWN]
            column -= start
        return f"{text}\n{' ' * (column - 1)}^"


async def check_syntax(
    source: str, node: str | None = None, timeout: float = TIMEOUT
) -> SyntaxProblem | None:
    """None if ``source`` compiles as a sandbox app; else what is wrong and where."""
    binary = node or shutil.which("node")
    if binary is None:
        raise SyntaxCheckUnavailable("node is not installed")
    try:
        proc = await asyncio.create_subprocess_exec(
            binary,
            "-e",
            CHECKER,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={},
        )
    except OSError as exc:
        raise SyntaxCheckUnavailable(f"cannot run node: {exc}") from exc
    try:
        out, err = await asyncio.wait_for(
            proc.communicate(source.encode("utf-8", errors="replace")), timeout
        )
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        raise SyntaxCheckUnavailable(f"the check took longer than {timeout:g} s") from None
    if proc.returncode != 0:
        detail = err.decode("utf-8", errors="replace").strip().splitlines()
        raise SyntaxCheckUnavailable(detail[-1] if detail else f"node exited {proc.returncode}")
    if not out.strip():
        return None
    found = json.loads(out)
    return SyntaxProblem(
        message=str(found.get("message") or "SyntaxError"),
        line=found.get("line"),
        column=found.get("column"),
        source_line=found.get("source_line"),
    )
