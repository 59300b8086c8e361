"""``vumigo contacts ...``, driven through click's CliRunner on the group itself."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner, Result

from tests.support.factories import make_account
from vumigo.cli.contacts import contacts
from vumigo.db.engine import Database


class Runner:
    def __init__(self, url: str, data_dir: Path) -> None:
        self.env = {"VUMIGO_DATABASE_URL": url, "VUMIGO_DATA_DIR": str(data_dir)}

    def __call__(self, *args: str) -> Result:
        env: dict[str, str | None] = {**self.env, "VUMIGO_CONFIG": None}
        return CliRunner().invoke(contacts, list(args), env=env, catch_exceptions=False)

    def ok(self, *args: str) -> str:
        result = self(*args)
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        return result.stdout


@pytest.fixture
def run(sqlite_url: str, tmp_path: Path) -> Runner:
    return Runner(sqlite_url, tmp_path / "var")


@pytest.fixture
def account(sqlite_url: str) -> str:
    async def make() -> str:
        db = Database(sqlite_url)
        try:
            key, _token = await make_account(db)
            return key
        finally:
            await db.dispose()

    return asyncio.run(make())


def test_import_list_export_and_groups(run: Runner, account: str, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text(
        "Phone,First Name,Town\n0821234567,Ann,CPT\n27821234568,Ben,JHB\n+27 82 123 4569,Cat,CPT\n"
    )
    result = run(
        "import", str(path), "--account", account, "--group", "Imported",
        "--country", "ZA", "--map", "Town=extras-city",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "3 rows read: 3 contacts created, 0 updated" in result.stdout
    assert "importing" in result.stderr  # the progress bar, kept off stdout

    listed = json.loads(run.ok("list", "--account", account, "--json"))
    assert listed["total"] == 3
    assert sorted(c["msisdn"] for c in listed["contacts"]) == [
        "+27821234567",
        "+27821234568",
        "+27821234569",
    ]
    text = run.ok("list", "--account", account, "--query", "extras-city:CPT")
    assert "Ann" in text and "Cat" in text and "Ben" not in text and "2 contacts" in text

    smart = run.ok("groups", "create-smart", "Cape Town", "--account", account, "--query",
                   "extras-city:CPT").strip()  # fmt: skip
    static = run.ok("groups", "create", "Empty", "--account", account).strip()
    groups = json.loads(run.ok("groups", "list", "--account", account, "--json"))
    assert {g["name"]: g["contacts"] for g in groups} == {
        "Imported": 3,
        "Cape Town": 2,
        "Empty": 0,
    }
    assert {g["key"] for g in groups} >= {smart, static}
    assert "(static)" in run.ok("groups", "list", "--account", account)

    exported = run.ok("export", "--account", account, "--group", "Cape Town")
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert sorted(r["name"] for r in rows) == ["Ann", "Cat"]
    assert {r["extras-city"] for r in rows} == {"CPT"}
    xlsx = tmp_path / "all.xlsx"
    assert "3 contacts" in run.ok(
        "export", "--account", account, "--format", "xlsx", "-o", str(xlsx)
    )
    assert openpyxl.load_workbook(xlsx).active.max_row == 4

    assert run.ok("groups", "delete", "Empty", "--account", account).strip() == f"deleted {static}"
    missing = run("groups", "delete", "Empty", "--account", account)
    assert missing.exit_code == 1 and "no group 'Empty'" in missing.output


def test_bad_rows_are_listed_and_nothing_is_saved(
    run: Runner, account: str, tmp_path: Path
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("msisdn,name\n+27821234567,Ann\nnonsense,Ben\n+27821234568,Cat,extra\n")
    result = run("import", str(path), "--account", account, "--group", "New group")
    assert result.exit_code == 1
    assert "(nothing saved)" in result.stdout
    assert "row 3: Invalid MSISDN: nonsense" in result.stdout
    assert "row 4: Invalid row: too many fields." in result.stdout
    assert "2 bad rows" in result.output
    assert json.loads(run.ok("list", "--account", account, "--json"))["total"] == 0
    assert json.loads(run.ok("groups", "list", "--account", account, "--json")) == []


def test_errors_are_one_line(run: Runner, account: str, tmp_path: Path) -> None:
    path = tmp_path / "people.txt"
    path.write_text("msisdn\n+27821234567\n")
    result = run("import", str(path), "--account", account)
    assert result.exit_code == 1 and "No parser available for type txt" in result.output
    result = run("list", "--account", "nope")
    assert result.exit_code == 1 and "unknown account 'nope'" in result.output
    result = run("groups", "create-smart", "x", "--account", account, "--query", "name:(")
    assert result.exit_code == 1 and "Invalid query" in result.output
    result = run("export", "--account", account, "--format", "xlsx")
    assert result.exit_code == 2 and "--format xlsx needs --output" in result.output
