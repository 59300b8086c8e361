"""Sending the UI's e-mails (password reset links) through an SMTP server, or to the log.

Configured with ``VUMIGO_SMTP_*`` environment variables (``VUMIGO_SMTP_HOST``, ``_PORT``,
``_USERNAME``, ``_PASSWORD``, ``_STARTTLS``, ``_FROM_ADDR``); with no host set, a message is
written to the log instead, which is what a single-machine install wants.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
from email.message import EmailMessage

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)


class MailSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VUMIGO_SMTP_", extra="ignore")

    host: str = Field(default="", description="SMTP server; empty: write e-mails to the log.")
    port: int = Field(default=25, ge=1, le=65535)
    username: str = Field(default="")
    password: str = Field(default="")
    starttls: bool = Field(default=False, description="Upgrade the connection with STARTTLS.")
    from_addr: str = Field(default="vumigo@localhost", description="The From: address.")
    timeout: float = Field(default=10.0, gt=0)


def _deliver(settings: MailSettings, message: EmailMessage) -> None:
    with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
        if settings.starttls:
            smtp.starttls()
        if settings.username:
            smtp.login(settings.username, settings.password)
        smtp.send_message(message)


async def send_mail(
    to_addr: str, subject: str, body: str, settings: MailSettings | None = None
) -> bool:
    """Sends (or logs) one plain-text e-mail; False if the SMTP server could not take it.

    Failures are logged, not raised: the caller's page must not reveal whether an address
    exists by failing differently.
    """
    settings = settings or MailSettings()
    message = EmailMessage()
    message["From"] = settings.from_addr
    message["To"] = to_addr
    message["Subject"] = subject
    message.set_content(body)
    if not settings.host:
        log.info("e-mail to %s (no SMTP server configured): %s\n%s", to_addr, subject, body)
        return True
    try:
        # smtplib blocks; a thread keeps the event loop serving other requests meanwhile.
        await asyncio.to_thread(_deliver, settings, message)
    except (OSError, smtplib.SMTPException):
        log.exception("could not send e-mail to %s via %s", to_addr, settings.host)
        return False
    return True
