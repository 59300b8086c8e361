"""A signed-in browser for UI tests (httpx over ASGI), and fast seeding of the message store."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from vumigo.accounts.apps import enable_apps
from vumigo.accounts.users import create_user
from vumigo.db.engine import Database
from vumigo.message import Event, UserMessage
from vumigo.runtime import Platform
from vumigo.store import messages as store
from vumigo.store.batches import batch_key

PASSWORD = "correct horse battery"
_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def csrf_of(html: str) -> str:
    found = _CSRF_META.search(html)
    assert found, "page has no CSRF token"
    return found.group(1)


@dataclass
class Browser:
    client: httpx.AsyncClient
    platform: Platform
    account: str = ""
    email: str = ""
    token: str = ""  # the session's CSRF token, once signed in

    @property
    def db(self) -> Database:
        return self.platform.db

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.client.get(url, **kwargs)

    async def post(
        self, url: str, data: dict[str, Any] | None = None, **kwargs: Any
    ) -> httpx.Response:
        """A form POST carrying the CSRF token, as the page's form would."""
        return await self.client.post(
            url, data={"csrf_token": self.token, **(data or {})}, **kwargs
        )

    async def refresh_token(self) -> str:
        response = await self.client.get("/signin" if not self.account else "/account/")
        self.token = csrf_of(response.text)
        return self.token

    async def sign_in(self, email: str, password: str = PASSWORD) -> httpx.Response:
        page = await self.client.get("/signin")
        response = await self.client.post(
            "/signin",
            data={"email": email, "password": password, "csrf_token": csrf_of(page.text)},
        )
        if response.status_code == 303:
            self.email = email
            home = await self.client.get("/")
            self.token = csrf_of(home.text)
        return response


async def make_user(db: Database, email: str, password: str = PASSWORD, apps: bool = True) -> str:
    """A user with a new account (all app types allowed); returns the account key."""
    async with db.transaction() as session:
        account = await create_user(session, email, password, name="Test", surname="User")
        if apps:
            await enable_apps(session, account.key)
        return account.key


async def seed_messages(
    db: Database,
    account: str,
    owner_ref: str,
    count: int,
    direction: str = "inbound",
    owner_kind: str = "conversation",
    start: datetime | None = None,
    step: timedelta = timedelta(seconds=1),
    content: str = "hello {n}",
) -> list[UserMessage]:
    """``count`` stored messages in the conversation's batch, oldest first."""
    start = start or datetime.now(UTC) - step * count
    made = []
    for n in range(count):
        when = start + step * n
        if direction == "inbound":
            msg = UserMessage(
                to_addr="10001",
                from_addr=f"+2782{n:07d}",
                content=content.format(n=n),
                transport_name="dev",
                transport_type="sms",
                timestamp=when,
            )
        else:
            msg = UserMessage(
                to_addr=f"+2782{n:07d}",
                from_addr="10001",
                content=content.format(n=n),
                transport_name="dev",
                transport_type="sms",
                timestamp=when,
            )
        made.append(msg)
    async with db.transaction() as session:
        batch = await batch_key(session, owner_kind, owner_ref, account)
        state = "processed" if direction == "inbound" else "sent"
        await store.add_messages(session, [(m, direction, state, account) for m in made])
        await store.attach_many(session, [(m, direction, [batch]) for m in made])
    return made


async def seed_events(db: Database, events: list[Event]) -> None:
    async with db.transaction() as session:
        await store.add_events(session, events, state="dispatched")
