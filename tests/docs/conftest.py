"""One running platform for the docs' examples, set up as the getting-started guide says.

The platform runs in this process on a free loopback port, on a migrated SQLite copy, with
the demo account (``vumigo demo``) and an API token for it, which is what a reader has after
``make run`` and ``vumigo token create``. The examples get what they need from environment
variables, as the docs tell readers to set them: ``BASE_URL``, ``ACCOUNT_KEY``, ``API_TOKEN``
and, for one HTTP API conversation, ``CONVERSATION_KEY`` and ``CONVERSATION_TOKEN``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.docs.cli_bridge import CliBridge
from tests.support.http_api import TEST_ENV
from tests.support.live import LiveServer
from vumigo.config import Settings

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


@dataclass
class DocsPlatform:
    server: LiveServer
    bridge: CliBridge
    account: str
    token: str
    db_url: str
    #: Environment variables the examples read, as a reader sets them.
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    def vumigo(self, *args: str) -> str:
        return self.bridge.vumigo(*args)

    def channel(self) -> str:
        """A new developer phone channel of the demo account, as ``dev:<tag>``."""
        return self.vumigo("channel", "acquire", "--account", self.account, "--pool", "dev")

    def route(self, channel: str, connector: str) -> None:
        """Links a channel and a conversation both ways, on their default endpoints."""
        tag = f"TRANSPORT_TAG:{channel}"
        for source, target in ((tag, connector), (connector, tag)):
            self.vumigo(
                "routing", "add", "--account", self.account, source, "default", target, "default"
            )

    def say(
        self,
        channel: str,
        from_addr: str,
        content: str | None,
        session_event: str | None = None,
        transport_type: str = "ussd",
    ) -> list[dict[str, Any]]:
        """One message from the developer phone; returns the replies it got."""
        response = httpx.post(
            f"{self.url}/api/v1/dev/{channel.replace(':', '/', 1)}/messages",
            json={
                "from_addr": from_addr,
                "content": content,
                "session_event": session_event,
                "transport_type": transport_type,
                "wait": 15,
            },
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        replies: list[dict[str, Any]] = response.json()["replies"]
        return replies

    def http_api(self, conversation_type: str, name: str) -> dict[str, str]:
        """A running HTTP API conversation on a channel of its own, set up as the guide does;
        returns the examples' environment for it, with ``CHANNEL`` and ``CONVERSATION_TYPE``
        added for the tests' own use."""
        conv = self.vumigo(
            "conversation",
            "create",
            "--account",
            self.account,
            "--type",
            conversation_type,
            "--name",
            name,
        )
        token = self.vumigo("http-api", "token", "create", conv)
        channel = self.channel()
        self.route(channel, f"CONVERSATION:{conversation_type}:{conv}")
        self.vumigo("conversation", "start", conv)
        return {
            **self.env,
            "CONVERSATION_KEY": conv,
            "CONVERSATION_TOKEN": token,
            "CHANNEL": channel,
            "CONVERSATION_TYPE": conversation_type,
        }

    def phone(self, channel: str, from_addr: str, content: str) -> str:
        """A message from the developer phone that waits for no reply; returns its id."""
        response = httpx.post(
            f"{self.url}/api/v1/dev/{channel.replace(':', '/', 1)}/messages",
            json={"from_addr": from_addr, "content": content, "wait": 0},
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return str(response.json()["message_id"])

    def api_send(self, env: dict[str, str], to_addr: str, content: str) -> str:
        """A message sent through the HTTP API conversation of ``env``; returns its id."""
        response = httpx.put(
            f"{self.url}/api/v1/go/{env['CONVERSATION_TYPE']}/{env['CONVERSATION_KEY']}"
            "/messages.json",
            json={"to_addr": to_addr, "content": content},
            auth=(self.account, env["CONVERSATION_TOKEN"]),
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return str(response.json()["message_id"])

    def jsbox(self, name: str, code: Path, config: dict[str, Any]) -> tuple[str, str]:
        """A running jsbox conversation with the given code and app config on a channel of
        its own, set up with the commands the docs show; returns (conversation, channel)."""
        conv = self.vumigo(
            "conversation", "create", "--account", self.account, "--type", "jsbox", "--name", name
        )
        self.vumigo("jsbox", "set-code", conv, str(code))
        self.vumigo("jsbox", "set-config", conv, "config", "--value", json.dumps(config))
        channel = self.channel()
        self.route(channel, f"CONVERSATION:jsbox:{conv}")
        self.vumigo("conversation", "start", conv)
        return conv, channel


# Package scope: the platform, and the environment it sets, end with the last test here.
@pytest.fixture(scope="package")
def docs_platform(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DocsPlatform]:
    folder = tmp_path_factory.mktemp("docs-platform")
    shutil.copyfile(sqlite_template, folder / "vumigo.db")
    db_url = f"sqlite+aiosqlite:///{folder / 'vumigo.db'}"
    with pytest.MonkeyPatch.context() as env:
        # The CLI commands read these (they run in this process); the platform gets the same.
        env.setenv("VUMIGO_DATABASE_URL", db_url)
        env.setenv("VUMIGO_DATA_DIR", str(folder))
        env.delenv("VUMIGO_CONFIG", raising=False)
        # The examples' outside services run on 127.0.0.1, which the sandbox's http resource
        # and the push outbox refuse unless the operator allows it.
        env.setenv("VUMIGO_JSBOX_HTTP_ALLOW", "127.0.0.1")
        for name, value in TEST_ENV.items():
            env.setenv(name, value)
        bridge = CliBridge(folder)
        server = LiveServer(Settings(data_dir=folder, database_url=db_url))
        server.start()
        try:
            demo = json.loads(bridge.vumigo("demo", "--json"))
            account = demo["account_key"]
            token = bridge.vumigo("token", "create", "--account", account, "--name", "docs")
            # Every example takes a channel of its own; the demo pool has ten.
            bridge.vumigo("tagpool", "add-tags", "dev", "--tag-range", "default:10011-10040")
            platform = DocsPlatform(server, bridge, account, token, db_url)
            platform.env = {"BASE_URL": server.url, "ACCOUNT_KEY": account, "API_TOKEN": token}
            yield platform
        finally:
            server.stop()
            bridge.close()
