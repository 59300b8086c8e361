"""One TCP connection to an SMSC: framing, sequence numbers, bind, enquire_link and unbind.

The session answers what the protocol asks of it by itself (enquire_link, unbind, unknown
commands) and hands the rest to its handler: deliver_sm/data_sm, and responses nobody in the
session is waiting for (the client's submit_sm_resp). ``on_response`` is awaited before the next
PDU is read, so what it records (an SMSC id) is in place before a later PDU (that id's receipt)
is looked at.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Protocol

from .config import BindRole, SmppConfig
from .pdu import (
    ESME_RINVCMDID,
    ESME_RINVCMDLEN,
    ESME_ROK,
    Pdu,
    PduError,
    UnknownCommand,
    Value,
    decode,
    encode,
    read_frame,
    status_name,
)

logger = logging.getLogger(__name__)

INTERFACE_VERSION_34 = 0x34
_MAX_SEQUENCE = 0x7FFFFFFF


class SessionClosed(ConnectionError):
    """The connection is gone; nothing more can be sent on it."""


class BindFailed(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"bind refused: {status_name(status)}")
        self.status = status


class SessionHandler(Protocol):
    async def on_response(self, session: SmppSession, pdu: Pdu) -> None: ...

    async def on_deliver(self, session: SmppSession, pdu: Pdu) -> None: ...


class SmppSession:
    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        handler: SessionHandler,
        config: SmppConfig,
        counters: Counter[str] | None = None,
        label: str = "smpp",
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._handler = handler
        self._config = config
        self.counters: Counter[str] = counters if counters is not None else Counter()
        self.label = label
        self.bound_as: BindRole | None = None
        self._sequence = 0
        self._waiting: dict[int, asyncio.Future[Pdu]] = {}
        self._closed = asyncio.Event()
        self._enquire_task: asyncio.Task[None] | None = None
        self._read_task = asyncio.create_task(self._read_loop(), name=f"{label} reader")

    @classmethod
    async def open(
        cls,
        config: SmppConfig,
        handler: SessionHandler,
        counters: Counter[str] | None = None,
        label: str = "smpp",
    ) -> SmppSession:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(config.host, config.port), config.connect_timeout
        )
        return cls(reader, writer, handler, config, counters, label)

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def next_sequence(self) -> int:
        self._sequence = self._sequence % _MAX_SEQUENCE + 1
        return self._sequence

    def send(self, pdu: Pdu) -> None:
        if self.closed or self._writer.is_closing():
            raise SessionClosed(f"{self.label} is closed")
        self._writer.write(encode(pdu))

    async def drain(self) -> None:
        try:
            await self._writer.drain()
        except ConnectionError as exc:
            self.abort()
            raise SessionClosed(str(exc)) from exc

    def respond(self, request: Pdu, status: int = ESME_ROK, **params: Value) -> None:
        self.send(Pdu(f"{request.command}_resp", request.sequence, status, dict(params)))

    async def request(
        self,
        command: str,
        params: dict[str, Value] | None = None,
        timeout: float | None = None,
    ) -> Pdu:
        """Send a request and wait for its response (or SessionClosed / TimeoutError)."""
        sequence = self.next_sequence()
        future: asyncio.Future[Pdu] = asyncio.get_running_loop().create_future()
        self._waiting[sequence] = future
        try:
            self.send(Pdu(command, sequence, params=params or {}))
            wait = self._config.response_timeout if timeout is None else timeout
            return await asyncio.wait_for(future, wait)
        finally:
            self._waiting.pop(sequence, None)

    async def bind(self, role: BindRole) -> None:
        config = self._config
        response = await self.request(
            f"bind_{role}",
            {
                "system_id": config.system_id,
                "password": config.password,
                "system_type": config.system_type,
                "interface_version": INTERFACE_VERSION_34,
                "addr_ton": 0,
                "addr_npi": 0,
                "address_range": config.address_range,
            },
        )
        if response.status != ESME_ROK:
            raise BindFailed(response.status)
        self.bound_as = role
        if config.enquire_link_interval > 0:
            self._enquire_task = asyncio.create_task(
                self._enquire_loop(), name=f"{self.label} enquire_link"
            )

    async def unbind(self, timeout: float) -> None:
        """Unbind politely (waiting at most ``timeout`` for unbind_resp), then close."""
        try:
            if self.bound_as is not None and not self.closed:
                await self.request("unbind", timeout=timeout)
        except (TimeoutError, SessionClosed):
            pass
        finally:
            self.bound_as = None
            await self.close()

    async def close(self) -> None:
        if not self.closed:
            self._writer.close()
            try:
                await asyncio.wait_for(self._closed.wait(), 1.0)
            except TimeoutError:
                self.abort()
        # asyncio.wait rather than awaiting the task: it never raises the task's outcome, so a
        # cancellation of our caller is not mistaken for the reader's.
        await asyncio.wait({self._read_task}, timeout=1.0)

    def abort(self) -> None:
        """Drop the connection at once (a dead peer, a broken stream)."""
        if not self._writer.transport.is_closing():
            self._writer.transport.abort()
        self._finish()

    async def wait_closed(self) -> None:
        await self._closed.wait()

    def _finish(self) -> None:
        if self.closed:
            return
        self._closed.set()
        self.bound_as = None
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(SessionClosed(f"{self.label} closed"))
        self._waiting.clear()
        if self._enquire_task is not None and self._enquire_task is not asyncio.current_task():
            self._enquire_task.cancel()
        if not self._writer.is_closing():
            self._writer.close()

    async def _read_loop(self) -> None:
        try:
            while True:
                frame = await read_frame(self._reader, self._config.max_pdu_length)
                try:
                    pdu = decode(frame)
                except PduError as exc:
                    self._reject(exc)
                    continue
                try:
                    await self._dispatch(pdu)
                except SessionClosed:
                    pass
                except Exception:
                    # A bug in a handler must not take the connection down with it.
                    logger.exception("%s: handling %s failed", self.label, pdu.command)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            logger.info("%s: connection ended (%s)", self.label, exc.__class__.__name__)
        except PduError as exc:
            logger.warning("%s: unreadable stream, dropping the connection: %s", self.label, exc)
        finally:
            self._finish()

    def _reject(self, exc: PduError) -> None:
        logger.warning("%s: bad PDU: %s", self.label, exc)
        status = ESME_RINVCMDID if isinstance(exc, UnknownCommand) else ESME_RINVCMDLEN
        self.send(Pdu("generic_nack", exc.sequence or 0, status))

    async def _dispatch(self, pdu: Pdu) -> None:
        if pdu.is_response:
            future = self._waiting.pop(pdu.sequence, None)
            if future is not None and not future.done():
                future.set_result(pdu)
            else:
                await self._handler.on_response(self, pdu)
        elif pdu.command in ("deliver_sm", "data_sm"):
            await self._handler.on_deliver(self, pdu)
        elif pdu.command == "enquire_link":
            self.counters["enquire_link_received"] += 1
            self.respond(pdu)
        elif pdu.command == "unbind":
            self.counters["unbind_received"] += 1
            self.bound_as = None
            self.respond(pdu)
            self._writer.close()  # the resp is flushed first; the reader then sees EOF
        elif pdu.command == "alert_notification":
            pass  # has no response, and nothing here needs it
        else:
            self.send(Pdu("generic_nack", pdu.sequence, ESME_RINVCMDID))

    async def _enquire_loop(self) -> None:
        while not self.closed:
            await asyncio.sleep(self._config.enquire_link_interval)
            try:
                self.counters["enquire_link_sent"] += 1
                await self.request("enquire_link")
            except TimeoutError:
                logger.warning("%s: no enquire_link_resp, dropping the connection", self.label)
                self.abort()
                return
            except SessionClosed:
                return
