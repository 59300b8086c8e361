"""Conversation config, tokens, operator settings, the limiter and the payload checks."""

from __future__ import annotations

from typing import Any

import pytest

from vumigo.apps.http_api.config import ApiConfig, check_push_url, digest, new_token, token_id
from vumigo.apps.http_api.errors import ApiError
from vumigo.apps.http_api.limiter import ConcurrencyLimiter, TooManyConnections
from vumigo.apps.http_api.metrics import Point, parse_metrics
from vumigo.apps.http_api.sending import REPLY_CHECKS, SEND_CHECKS, check_length, validate
from vumigo.apps.http_api.settings import DEFAULT_RETRY_INTERVALS, HttpApiSettings, SettingsError


def test_tokens_are_random_and_only_digests_are_kept() -> None:
    token, stored = new_token()
    other, _ = new_token()
    assert token != other and stored == digest(token) and token not in stored
    config = ApiConfig.from_section({"api_tokens": [stored]})
    assert config.accepts(token)
    assert not config.accepts(other) and not config.accepts("") and not config.accepts("x" * 300)
    assert token_id(stored) == stored[len("sha256:") :][:12]


def test_plain_text_tokens_in_config_are_not_accepted() -> None:
    assert not ApiConfig.from_section({"api_tokens": ["secret"]}).accepts("secret")


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        (None, ApiConfig()),
        ("junk", ApiConfig()),
        (
            {
                "push_message_url": "http://a/m",
                "push_event_url": " ",
                "ignore_messages": True,
                "ignore_events": "yes",  # only true is true
                "metric_store": "shop",
                "content_length_limit": 160,
            },
            ApiConfig(
                push_message_url="http://a/m",
                ignore_messages=True,
                metric_store="shop",
                content_length_limit=160,
            ),
        ),
        ({"content_length_limit": True, "metric_store": "a b"}, ApiConfig()),
        ({"content_length_limit": -5, "api_tokens": "sha256:x"}, ApiConfig()),
    ],
)
def test_config_is_read_forgivingly(section: Any, expected: ApiConfig) -> None:
    assert ApiConfig.from_section(section) == expected


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://example.org/hook", True),
        ("http://u:p@example.org:8080/x?y=1", True),
        ("ftp://example.org/", False),
        ("https:///path", False),
        ("http://example.org:notaport/", False),
        ("javascript:alert(1)", False),
    ],
)
def test_push_url_check(url: str, ok: bool) -> None:
    assert (check_push_url(url) is None) is ok


def test_settings_from_env() -> None:
    assert HttpApiSettings.from_env({}) == HttpApiSettings()
    assert HttpApiSettings().retry_intervals == DEFAULT_RETRY_INTERVALS
    settings = HttpApiSettings.from_env(
        {
            "VUMIGO_HTTP_API_CONCURRENCY_LIMIT": "-1",
            "VUMIGO_HTTP_API_RETRY_INTERVALS": "1, 2.5,",
            "VUMIGO_HTTP_API_PUSH_ALLOW": "10.0.0.0/8, hooks.internal",
            "VUMIGO_HTTP_API_STREAM_BACKLOG": "",
        }
    )
    assert settings.concurrency_limit == -1
    assert settings.retry_intervals == (1.0, 2.5)
    assert settings.push_allow == ("10.0.0.0/8", "hooks.internal")
    assert settings.stream_backlog == 100
    assert settings.lease > settings.push_timeout
    for name, value in [
        ("MAX_BODY_BYTES", "0"),
        ("RETRY_INTERVALS", "1,-2"),
        ("PUSH_TIMEOUT", "x"),
    ]:
        with pytest.raises(SettingsError, match=name):
            HttpApiSettings.from_env({f"VUMIGO_HTTP_API_{name}": value})


def test_limiter() -> None:
    limiter = ConcurrencyLimiter(2)
    limiter.acquire("a")
    with limiter.slot("a"):
        with pytest.raises(TooManyConnections):
            limiter.acquire("a")
        limiter.acquire("b")  # another account has its own slots
    limiter.acquire("a")
    limiter.release("a")
    limiter.release("a")
    assert limiter.open == {"b": 1}
    unlimited = ConcurrencyLimiter(-1)
    for _ in range(100):
        unlimited.acquire("a")
    with pytest.raises(TooManyConnections):
        ConcurrencyLimiter(0).acquire("a")


def reason(check: Any, *args: Any) -> str | None:
    try:
        check(*args)
    except ApiError as exc:
        assert exc.status == 400
        return exc.reason
    return None


@pytest.mark.parametrize(
    ("payload", "checks", "expected"),
    [
        ({"to_addr": "+1", "content": "hi"}, SEND_CHECKS, None),
        ({"to_addr": "+1"}, SEND_CHECKS, None),  # no content is a null content
        ({"to_addr": "+1", "content": ["x"]}, SEND_CHECKS, "key 'content'"),
        ({"to_addr": {"a": 1}}, SEND_CHECKS, "key 'to_addr'"),
        ({"to_addr": "x\x00"}, SEND_CHECKS, "key 'to_addr'"),
        ({}, REPLY_CHECKS, None),
        ({"session_event": "close", "content": None}, REPLY_CHECKS, None),
        ({"session_event": "bogus"}, REPLY_CHECKS, "key 'session_event'"),
        ({"session_event": ["new"]}, REPLY_CHECKS, "key 'session_event'"),
        ({"session_event": 1, "content": 1}, REPLY_CHECKS, "Errors:\n* "),
    ],
)
def test_payload_checks(payload: dict[str, Any], checks: Any, expected: str | None) -> None:
    found = reason(validate, payload, checks)
    if expected is None:
        assert found is None
    else:
        assert found is not None and expected in found


def test_content_length_limit() -> None:
    assert reason(check_length, "x" * 5, 5) is None
    assert reason(check_length, "x" * 6, 5) == "Payload content too long: 6 > 5"
    assert reason(check_length, None, 5) is None
    assert reason(check_length, "x" * 500, None) is None


def test_parse_metrics() -> None:
    assert parse_metrics([["a", 1, "SUM"], ["b", "2.5", "last"], ["c", True, "min"]]) == [
        Point("a", 1.0, "sum"),
        Point("b", 2.5, "last"),
        Point("c", 1.0, "min"),
    ]
    assert parse_metrics([]) == []
    assert (
        reason(parse_metrics, [["a", 1, "x" * 1000]]) == f"'{'x' * 255}' is not a valid aggregate."
    )
    assert reason(parse_metrics, [["a", "nan", "sum"]]) == "Invalid Message"
    assert reason(parse_metrics, [["a", "1e999", "sum"]]) == "Invalid Message"
