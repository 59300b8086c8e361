"""Settings: one object, read from an optional TOML file and ``VUMIGO_*`` environment variables.

Environment variables win over the file, and the file wins over the defaults. The defaults give the
embedded mode: a SQLite file under the data directory, the in-process bus, 127.0.0.1:8000.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

CONFIG_FILE_ENV = "VUMIGO_CONFIG"


class Settings(BaseSettings):
    """Everything a process of the platform can be told. Field docs feed the configuration docs."""

    model_config = SettingsConfigDict(env_prefix="VUMIGO_", extra="forbid")

    data_dir: Path = Field(
        default=Path("var"),
        description="Folder for the embedded SQLite database and other local state.",
    )
    database_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy async URL of the database, e.g. postgresql+asyncpg://user:pw@host/db. "
            "Unset means a SQLite file vumigo.db under data_dir."
        ),
    )
    broker_url: str | None = Field(
        default=None,
        description="amqp:// URL of RabbitMQ (distributed mode). Unset: the in-process bus.",
    )
    broker_prefix: str = Field(
        default="",
        description="Prefix of every queue name on RabbitMQ, so installations can share a broker.",
    )
    host: str = Field(default="127.0.0.1", description="Address the web server binds to.")
    port: int = Field(default=8000, ge=0, le=65535, description="Port the web server binds to.")
    public_url: str = Field(
        default="",
        description="URL the platform is reached at, used in links it sends. Empty: http://host:port.",
    )
    secret_key: str = Field(
        default="",
        description="Key that signs session cookies. Empty: one is made and kept under data_dir.",
    )
    log_level: str = Field(default="INFO", description="Python logging level.")
    roles: list[str] = Field(
        default_factory=lambda: ["dispatcher", "apps", "transports"],
        description=(
            "Engine roles this process runs beside the web app: any of dispatcher, apps, "
            "transports, sandbox, scheduler, push. `vumigo serve` runs dispatcher, apps and "
            "transports (apps includes the other three unless dedicated_roles says otherwise)."
        ),
    )
    dedicated_roles: list[str] = Field(
        default_factory=list,
        description=(
            "Parts of the apps role (any of sandbox, scheduler, push) that run only in "
            "processes of their own role: apps processes leave that work to them. Empty: "
            "apps processes run it too."
        ),
    )
    optout_keywords: list[str] = Field(
        default_factory=lambda: ["stop"],
        description="Whole-message keywords that opt the sender out.",
    )
    optout_case_sensitive: bool = Field(
        default=False, description="Whether opt-out keywords are matched case-sensitively."
    )

    billing_low_credit_percentages: list[int] = Field(
        default_factory=lambda: [10, 20, 50],
        description=(
            "Low-credit thresholds, in percent of an account's balance after its last top-up: "
            "crossing one shows a banner and e-mails the account's users. Operators can "
            "override them with `vumigo credit policy`."
        ),
    )
    billing_credit_cutoff: bool = Field(
        default=False,
        description=(
            "Below the lowest threshold, hold outbound messages (released after a top-up) and "
            "end sessions in progress. Operators can override it with `vumigo credit policy`."
        ),
    )
    billing_low_credit_emails: bool = Field(
        default=True, description="E-mail an account's users when it crosses a threshold."
    )
    billing_sweep_seconds: float = Field(
        default=15.0,
        gt=0,
        description="How often pending low-credit e-mails and held messages are looked at.",
    )

    metrics_rollup_seconds: float = Field(
        default=60.0, gt=0, description="How often stored metric points are rolled up."
    )
    metrics_grace_seconds: float = Field(
        default=15.0, ge=0, description="How late a point may arrive and still be rolled up."
    )
    metrics_conversation_seconds: float = Field(
        default=60.0, gt=0, description="How often conversations' message counts are sampled."
    )
    metrics_raw_retention_days: float = Field(
        default=2.0, gt=0, description="How long raw metric points are kept once rolled up."
    )
    metrics_minute_retention_days: float = Field(
        default=30.0, gt=0, description="How long one-minute metric buckets are kept."
    )
    metrics_hour_retention_days: float = Field(
        default=730.0, gt=0, description="How long one-hour metric buckets are kept."
    )
    metrics_graphite_host: str = Field(
        default="", description="carbon host for the Graphite exporter; empty: no export."
    )
    metrics_graphite_port: int = Field(
        default=2003, ge=1, le=65535, description="carbon plaintext port."
    )
    metrics_graphite_prefix: str = Field(
        default="", description="Prefix of every exported Graphite metric name."
    )
    metrics_prometheus_token: str = Field(
        default="", description="Bearer token /metrics asks for; empty: /metrics is open."
    )
    metrics_max_points: int = Field(
        default=10000, gt=0, description="Most points one metrics API answer may hold."
    )

    @field_validator("dedicated_roles")
    @classmethod
    def _splittable(cls, value: list[str]) -> list[str]:
        from vumigo.roles import SPLITTABLE

        wrong = [role for role in value if role not in SPLITTABLE]
        if wrong:
            raise ValueError(f"dedicated_roles may name {', '.join(SPLITTABLE)}, not {wrong}")
        return value

    @field_validator("log_level")
    @classmethod
    def _upper_level(cls, value: str) -> str:
        return value.upper()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get(CONFIG_FILE_ENV)
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)

    @property
    def resolved_database_url(self) -> str:
        """The database URL in use, with the embedded default filled in."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'vumigo.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def base_url(self) -> str:
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.port}"


class ConfigError(Exception):
    """The configuration file or environment could not be read."""


def load_settings(config_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Reads the settings; ``config_file`` (a TOML file) must exist when it is given."""
    if config_file is not None:
        path = Path(config_file)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        os.environ[CONFIG_FILE_ENV] = str(path)
    try:
        return Settings(**overrides)
    except ValueError as exc:
        raise ConfigError(str(exc).splitlines()[0] + ": " + str(exc)) from exc
