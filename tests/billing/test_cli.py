"""``vumigo credit ...`` and ``vumigo cost ...`` against a migrated database."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import pytest
from click.testing import CliRunner, Result

from tests.billing.conftest import new_account, outbound, send
from vumigo.billing.step import Billing
from vumigo.cli import cli
from vumigo.db.engine import Database
from vumigo.db.models import User

T = TypeVar("T")


class Run:
    """Runs ``vumigo`` in-process on one database; ``db`` runs set-up code on it too."""

    def __init__(self, url: str, data_dir: Path) -> None:
        self.url = url
        self.env = {
            "VUMIGO_DATABASE_URL": url,
            "VUMIGO_DATA_DIR": str(data_dir),
            "VUMIGO_CONFIG": None,
        }

    def __call__(self, *args: str) -> Result:
        return CliRunner().invoke(cli, list(args), env=self.env, catch_exceptions=False)

    def ok(self, *args: str) -> str:
        result = self(*args)
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        return result.stdout

    def json(self, *args: str) -> object:
        return json.loads(self.ok(*args, "--json"))

    def db(self, work: Callable[[Database], Awaitable[T]]) -> T:
        async def go() -> T:
            db = Database(self.url)
            try:
                return await work(db)
            finally:
                await db.dispose()

        return asyncio.run(go())

    def account(self, name: str = "Billing test") -> str:
        return self.db(lambda db: new_account(db, name))


@pytest.fixture
def run(sqlite_url: str, tmp_path: Path) -> Run:
    return Run(sqlite_url, tmp_path)


async def _add_user(db: Database, account: str, email: str) -> None:
    async with db.transaction() as session:
        session.add(User(account_key=account, email=email, password_hash="x"))


def test_add_and_show_credit(run: Run) -> None:
    a = run.account()
    run.db(lambda db: _add_user(db, a, "owner@example.org"))
    assert run.ok("credit", "add", "--account", a, "--amount", "1000").strip() == (
        f"added 1000 credits to {a}: 1000.000000"
    )
    # As the original's documentation put it: by the e-mail address of the account's user.
    run.ok("credit", "add", "--account", "owner@example.org", "--amount", "250.5")
    shown = run.json("credit", "show", "--account", a)
    assert shown == {
        "account": a,
        "balance": "1250.500000",
        "last_topup_balance": "1250.500000",
        "percent_of_last_topup": 100,
        "low_credit_level": None,
        "cut_off": False,
        "held_messages": 0,
    }
    text = run.ok("credit", "show", "--account", a)
    assert "balance:            1250.500000 credits" in text


def test_credit_errors_are_one_line(run: Run) -> None:
    a = run.account()
    result = run("credit", "add", "--account", "nobody", "--amount", "5")
    assert (result.exit_code, result.stderr) == (1, "error: no account nobody\n")
    result = run("credit", "add", "--account", a, "--amount", "-5")
    assert (result.exit_code, result.stderr) == (1, "error: amount must be zero or more, not -5\n")
    result = run("credit", "show")
    assert result.exit_code == 2


def test_set_and_list_costs(run: Run) -> None:
    a = run.account()
    made = run.json(
        "cost",
        "set",
        "--direction",
        "outbound",
        "--message-cost",
        "0.8",
        "--storage-cost",
        "0.2",
        "--markup",
        "12.5",
    )
    assert isinstance(made, dict) and made["credits_per_message"] == "11.250000"
    run.ok(
        "cost",
        "set",
        "--account",
        a,
        "--pool",
        "ussd",
        "--provider",
        "mtn",
        "--direction",
        "inbound",
        "--message-cost",
        "1",
        "--session-cost",
        "5",
        "--session-unit-cost",
        "2",
        "--session-unit-time",
        "20",
    )
    listed = run.json("cost", "list")
    assert isinstance(listed, list)
    assert [(c["account"], c["pool"], c["provider"], c["direction"]) for c in listed] == [
        (None, None, None, "outbound"),
        (a, "ussd", "mtn", "inbound"),
    ]
    assert listed[1]["session_unit_time"] == "20.000"
    table = run.ok("cost", "list").splitlines()
    assert table[0].split()[:5] == ["id", "account", "pool", "provider", "dir"]
    assert table[1].split()[1:5] == ["*", "*", "*", "outbound"]

    bad = run("cost", "set", "--direction", "outbound", "--message-cost", "0.0001")
    assert bad.exit_code == 2 and "at most 3 decimal places" in bad.stderr
    bad = run(
        "cost", "set", "--direction", "outbound", "--message-cost", "1", "--session-unit-cost", "2"
    )
    assert bad.exit_code == 2 and "--session-unit-time" in bad.stderr
    run.ok("cost", "remove", str(listed[1]["id"]))
    assert len(run.json("cost", "list")) == 1  # type: ignore[arg-type]
    assert run("cost", "remove", "999").exit_code == 1


def test_policy_and_cutoff_show_in_credit(run: Run) -> None:
    a = run.account()
    assert run.json("credit", "policy") == {
        "thresholds": [10, 20, 50],
        "cutoff": False,
        "emails": True,
    }
    assert run.json("credit", "policy", "--thresholds", "25,5", "--cutoff") == {
        "thresholds": [5, 25],
        "cutoff": True,
        "emails": True,
    }
    shown = run.json("credit", "show", "--account", a)
    assert isinstance(shown, dict) and shown["cut_off"] is True  # never had credit
    assert run("credit", "policy", "--thresholds", "5,x").exit_code == 2
    assert run.json("credit", "policy", "--reset") == {
        "thresholds": [10, 20, 50],
        "cutoff": False,
        "emails": True,
    }


def test_statement_and_report(run: Run) -> None:
    a = run.account("Clinic")
    run.ok("credit", "add", "--account", a, "--amount", "100")
    run.ok("cost", "set", "--direction", "outbound", "--message-cost", "1")
    run.db(lambda db: send(Billing(db), db, outbound(a), outbound(a)))
    month = datetime.now(UTC).strftime("%Y-%m")

    rows = list(
        csv.reader(
            io.StringIO(run.ok("credit", "statement", "--account", a, "--month", month, "--csv"))
        )
    )
    assert rows[1] == [month, "pool", "Messages sent", "2", "messages", "20.000000"]
    data = run.json("credit", "statement", "--account", a)
    assert isinstance(data, dict)
    assert (data["charged"], data["topped_up"], data["closing_balance"]) == (
        "20.000000",
        "100.000000",
        "80.000000",
    )
    text = run.ok("credit", "statement", "--account", a)
    assert text.startswith(f"Clinic ({a}), {month}")

    report = run.json("credit", "report")
    assert isinstance(report, list)
    assert [(r["name"], r["outbound"], r["charged"], r["balance"]) for r in report] == [
        ("Clinic", 2, "20.000000", "80.000000")
    ]
    assert run.ok("credit", "report", "--csv").startswith("month,account,name,")
    assert run("credit", "report", "--month", "May").exit_code == 2
