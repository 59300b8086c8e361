"""Reading and changing a jsbox conversation's config, and the operator's settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vumigo.apps.jsbox.app import JsBoxApp, delivery_class_of
from vumigo.apps.jsbox.config import JsBoxConfig, validate, with_app_config, with_code
from vumigo.apps.jsbox.settings import JsBoxSettings, SettingsError
from vumigo.errors import InvalidInput


def test_config_as_vumi_go_stored_it() -> None:
    app = {
        "name": "my_app",
        "endpoints": {"sms": {"delivery_class": "sms"}},
        "delivery_class": "ussd",
        "process_events": True,
    }
    config = JsBoxConfig.of(
        {
            "jsbox": {"javascript": "code", "source_url": ""},
            "jsbox_app_config": {
                "config": {"value": json.dumps(app), "source_url": ""},
                "reports": {"value": "{}"},
                "bare": "a bare value is accepted too",
            },
        }
    )
    assert config.javascript == "code" and config.name == "my_app"
    assert config.app_config == {
        "config": json.dumps(app),
        "reports": "{}",
        "bare": "a bare value is accepted too",
    }
    assert config.process_events is True and config.delivery_class == "ussd"
    assert config.endpoints == frozenset({"sms"})


@pytest.mark.parametrize(
    "stored",
    [
        {},
        {"jsbox": "not an object", "jsbox_app_config": []},
        {"jsbox": {"javascript": ""}, "jsbox_app_config": {"config": {"value": "not json"}}},
        {"jsbox_app_config": {"config": {"value": "[1, 2]"}}},
    ],
)
def test_missing_or_broken_config_reads_as_empty(stored: dict[str, object]) -> None:
    config = JsBoxConfig.of(stored)
    assert config.javascript is None and dict(config.app) == {}
    assert config.process_events is False and config.delivery_class is None
    assert config.endpoints == frozenset()


def test_endpoints_may_be_a_list() -> None:
    config = JsBoxConfig.of({"jsbox_app_config": {"config": '{"endpoints": ["a", 1, "b"]}'}})
    assert config.endpoints == frozenset({"a", "b"})


def test_editing_keeps_the_rest() -> None:
    config = with_code({"other": 1}, "api.done();", "https://example.org/app.js")
    config = with_app_config(config, "config", '{"name": "x"}')
    config = with_app_config(config, "config", '{"name": "y"}')
    assert config["other"] == 1
    assert config["jsbox"]["source_url"] == "https://example.org/app.js"
    assert config["jsbox_app_config"] == {"config": {"value": '{"name": "y"}', "source_url": ""}}
    assert validate(config) is config


@pytest.mark.parametrize(
    ("key", "value", "error"),
    [
        ("config", "[]", "must be a JSON object"),
        ("config", "{", "must be JSON"),
        ("translation.fr", "nope", "must be JSON"),
        ("", "x", "1 to 255"),
        ("big", "x" * (1024 * 1024 + 1), "too large"),
    ],
)
def test_app_config_values_apps_could_not_use(key: str, value: str, error: str) -> None:
    with pytest.raises(InvalidInput, match=error):
        with_app_config({}, key, value)


@pytest.mark.parametrize(
    "config",
    [
        {"jsbox": "code"},
        {"jsbox": {"javascript": 5}},
        {"jsbox_app_config": "x"},
        {"jsbox_app_config": {"config": {"value": 5}}},
        {"jsbox_app_config": {"config": {"value": "[]"}}},
    ],
)
def test_whole_configs_are_checked(config: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        JsBoxApp.validate_config(config)


def test_empty_code_is_refused() -> None:
    with pytest.raises(InvalidInput, match="empty"):
        with_code({}, " \n")


@pytest.mark.parametrize(
    ("transport_type", "delivery_class"),
    [("ussd", "ussd"), ("sms", "sms"), ("xmpp", "gtalk"), ("telnet", "sms"), (None, "sms")],
)
def test_delivery_class_from_transport(transport_type: str | None, delivery_class: str) -> None:
    assert delivery_class_of(transport_type) == delivery_class


def test_settings_from_the_environment(tmp_path: Path) -> None:
    env = {
        "VUMIGO_JSBOX_TIMEOUT": "5",
        "VUMIGO_JSBOX_POOL_SIZE": "2",
        "VUMIGO_JSBOX_NETWORK": "off",
        "VUMIGO_JSBOX_EXTRA_MODULES": "go-jsbox-location, seed-jsbox-utils",
        "VUMIGO_JSBOX_MODULES_DIR": str(tmp_path),
        "VUMIGO_JSBOX_HTTP_ALLOW": "127.0.0.1, .internal",
        "VUMIGO_JSBOX_HTTP_TIMEOUT": "2.5",
        "VUMIGO_JSBOX_KV_MAX_KEYS": "50",
        "VUMIGO_JSBOX_ALLOWED_HELPER_METADATA": "voice",
        "VUMIGO_JSBOX_IDLE_TIMEOUT": " ",
    }
    settings = JsBoxSettings.from_env(env)
    assert settings.sandbox.timeout == 5.0 and settings.sandbox.pool_size == 2
    assert settings.sandbox.network == "off" and settings.sandbox.modules_dir == tmp_path
    assert settings.sandbox.extra_modules == ("go-jsbox-location", "seed-jsbox-utils")
    assert settings.sandbox.idle_timeout == 300.0  # blank means the default
    assert settings.http.allow == ("127.0.0.1", ".internal") and settings.http.timeout == 2.5
    assert settings.max_keys == 50 and settings.allowed_helper_metadata == ("voice",)
    defaults = JsBoxSettings.from_env({})
    assert defaults.max_keys == 10_000 and defaults.http.allow == ()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TIMEOUT", "soon"),
        ("POOL_SIZE", "0"),
        ("NETWORK", "maybe"),
        ("MODULES_DIR", "/no/such/dir"),
        ("KV_MAX_KEYS", "-1"),
        ("EXTRA_MODULES", "../escape"),
    ],
)
def test_bad_settings_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match="VUMIGO_JSBOX_"):
        JsBoxSettings.from_env({f"VUMIGO_JSBOX_{name}": value})
