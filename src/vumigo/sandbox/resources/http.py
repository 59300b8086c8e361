"""The ``http`` resource: outbound HTTP requests for apps, the only network access they have.

Every command takes the same fields and gives the same reply. Like the original, a response of
any status is a success (``code`` tells the app; the toolkit raises for non-2xx itself); failures
are for requests that got no response: refused destination, DNS or connection error, timeout,
too many redirects, or a body over the size cap. Response headers are not returned (the
original did not either).

Differences from the original, on purpose:

- Destinations are vetted (see :mod:`vumigo.sandbox.netguard`): no private, loopback,
  link-local, multicast or reserved addresses, including after DNS resolution and on redirects,
  unless the operator's ``allow`` list names the network or host.
- TLS is always verified: ``verify_options`` and ``ssl_method`` are accepted and ignored, so
  ``VERIFY_NONE`` no longer turns verification off.
- No cookies are kept between requests (the client is shared by all accounts).
- ``files`` (multipart uploads, a vxsandbox addition) is not supported.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
from dataclasses import dataclass
from typing import Any

import httpx

from vumigo.sandbox.netguard import (
    AddressPolicy,
    Connector,
    DestinationNotAllowed,
    GuardedBackend,
    GuardedTransport,
    Resolver,
    direct_connector,
    system_resolver,
)
from vumigo.sandbox.resources import Reply, Request, Resource, ResourceError, command
from vumigo.sandbox.run import Run


@dataclass(frozen=True)
class HttpSettings:
    #: Seconds for the whole request, body included (the original's 30 s).
    timeout: float = 30.0
    #: Response body cap in bytes, after content decoding (the original's 128 KiB).
    max_response_bytes: int = 128 * 1024
    max_redirects: int = 5
    #: Operator allow-list: CIDRs (``10.1.0.0/16``) and host names (``api.internal``, or
    #: ``.internal`` for subdomains) that may be reached although they are not public.
    allow: tuple[str, ...] = ()
    user_agent: str = "vumigo-sandbox"


class _NoCookies(http.cookiejar.CookieJar):
    """A jar that keeps nothing, so one account's cookies never reach another's requests."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None

    def set_cookie(self, cookie: http.cookiejar.Cookie) -> None:
        return None


_FIELDS = {
    "url": "string: absolute http(s) URL, query string included",
    "headers": "object: header name to list of values (a single string is accepted too)",
    "data": "string: the request body",
    "verify_options": "accepted and ignored: TLS is always verified",
    "ssl_method": "accepted and ignored",
}
_REPLY = {"code": "integer HTTP status", "body": "string: the response body (UTF-8 decoded)"}
_ERRORS = (
    "No URL given",
    "Destination <host> (<address>) is not allowed: ...",
    "Received <n> bytes, maximum of <max> bytes allowed.",
    "Request timed out after <s> seconds",
    "<connection or protocol error text>",
)


def _headers(value: object) -> list[tuple[str, str]]:
    if value is None:
        return []
    if not isinstance(value, dict):
        raise ResourceError("headers must be an object of header names to lists of values")
    headers: list[tuple[str, str]] = []
    for name, values in value.items():
        for item in values if isinstance(values, list) else [values]:
            if not isinstance(item, str):
                raise ResourceError(f"header {name!r} must have string values")
            headers.append((name, item))
    return headers


def _decode(body: bytes, charset: str | None) -> str:
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


class HttpResource(Resource):
    """Make HTTP requests to public web services (and operator-allowed private ones)."""

    name = "http"
    limits = {
        "time per request": f"{HttpSettings.timeout:g} seconds, body included (setting "
        "VUMIGO_JSBOX_HTTP_TIMEOUT)",
        "response body": f"{HttpSettings.max_response_bytes // 1024} KiB after decoding; a larger "
        "one fails the request",
        "redirects": f"{HttpSettings.max_redirects}, each destination checked again",
        "destinations": "public addresses only: private, loopback, link-local, multicast and "
        "reserved ones are refused, after DNS resolution too, unless the operator allows them "
        "(setting VUMIGO_JSBOX_HTTP_ALLOW)",
    }

    def __init__(
        self,
        settings: HttpSettings | None = None,
        *,
        resolver: Resolver = system_resolver,
        connector: Connector = direct_connector,
    ) -> None:
        self.settings = settings or HttpSettings()
        self.backend = GuardedBackend(
            AddressPolicy.from_allow_list(self.settings.allow), resolver, connector
        )
        self.client = httpx.AsyncClient(
            transport=GuardedTransport(self.backend),
            cookies=_NoCookies(),
            follow_redirects=True,
            max_redirects=self.settings.max_redirects,
            timeout=self.settings.timeout,
            trust_env=False,
            headers={"User-Agent": self.settings.user_agent},
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    def _too_big(self, size: int) -> ResourceError:
        limit = self.settings.max_response_bytes
        return ResourceError(f"Received {size} bytes, maximum of {limit} bytes allowed.")

    async def _fetch(
        self, method: str, url: str, headers: list[tuple[str, str]], body: bytes | None
    ) -> Reply:
        limit = self.settings.max_response_bytes
        async with self.client.stream(method, url, headers=headers, content=body) as response:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise self._too_big(int(declared))
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    raise self._too_big(size)
                chunks.append(chunk)
            text = _decode(b"".join(chunks), response.charset_encoding)
            return {"code": response.status_code, "body": text}

    async def _request(self, method: str, request: Request) -> Reply:
        url = request.get("url")
        if not isinstance(url, str) or not url:
            raise ResourceError("No URL given")
        data = request.get("data")
        if data is not None and not isinstance(data, str):
            raise ResourceError("data must be a string")
        headers = _headers(request.get("headers"))
        body = None if data is None else data.encode("utf-8")
        try:
            async with asyncio.timeout(self.settings.timeout):
                return await self._fetch(method, url, headers, body)
        except (TimeoutError, httpx.TimeoutException):
            raise ResourceError(
                f"Request timed out after {self.settings.timeout:g} seconds"
            ) from None
        except DestinationNotAllowed as exc:
            raise ResourceError(str(exc)) from None
        except httpx.TooManyRedirects:
            limit = self.settings.max_redirects
            raise ResourceError(f"Too many redirects (more than {limit})") from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise ResourceError(str(exc) or type(exc).__name__) from None

    @command("HTTP GET.", request=_FIELDS, reply=_REPLY, errors=_ERRORS)
    async def get(self, request: Request, run: Run) -> Reply:
        return await self._request("GET", request)

    @command("HTTP HEAD (body is empty).", request=_FIELDS, reply=_REPLY, errors=_ERRORS)
    async def head(self, request: Request, run: Run) -> Reply:
        return await self._request("HEAD", request)

    @command("HTTP POST.", request=_FIELDS, reply=_REPLY, errors=_ERRORS)
    async def post(self, request: Request, run: Run) -> Reply:
        return await self._request("POST", request)

    @command("HTTP PUT.", request=_FIELDS, reply=_REPLY, errors=_ERRORS)
    async def put(self, request: Request, run: Run) -> Reply:
        return await self._request("PUT", request)

    @command("HTTP PATCH.", request=_FIELDS, reply=_REPLY, errors=_ERRORS)
    async def patch(self, request: Request, run: Run) -> Reply:
        return await self._request("PATCH", request)

    @command("HTTP DELETE.", request=_FIELDS, reply=_REPLY, errors=_ERRORS)
    async def delete(self, request: Request, run: Run) -> Reply:
        return await self._request("DELETE", request)
