"""Fields more than one operator form reads: a new user, a pool grant's limit, a checkbox; and
the set-password link an operator hands to a user."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vumigo.errors import InvalidInput
from vumigo.web import forms, passwords
from vumigo.web.context import Web


@dataclass(frozen=True, slots=True)
class NewPerson:
    email: str
    name: str
    surname: str
    password: str  # "" when the operator leaves it blank: a set-password link is made instead


def read_person(form: Any) -> NewPerson:
    password = forms.text(form, "password", label="Password", strip=False, max_length=1024)
    if password and len(password) < passwords.MIN_PASSWORD:
        raise InvalidInput(
            f"The password must have at least {passwords.MIN_PASSWORD} characters, "
            "or leave it blank to get a set-password link."
        )
    return NewPerson(
        email=forms.text(form, "email", label="E-mail address", required=True, max_length=254),
        name=forms.text(form, "name", label="First name"),
        surname=forms.text(form, "surname", label="Surname"),
        password=password,
    )


def read_max_keys(form: Any) -> int | None:
    """How many tags of a pool an account may hold; None (blank or 0) for no limit."""
    raw = forms.text(form, "max_keys", label="Most tags", max_length=9)
    if not raw:
        return None
    if not raw.isdigit():
        raise InvalidInput("Most tags must be a whole number (0 or blank for no limit).")
    return int(raw) or None


def checked(form: Any, name: str) -> bool:
    """An HTML checkbox: present ("on") when ticked, absent otherwise."""
    return bool(form.get(name) == "on")


async def reset_link_for(web: Web, email: str) -> str | None:
    """A new set-password link for the user (the same kind the reset e-mail carries), or None
    for a disabled user. The token is not kept, so the link can be shown only this once."""
    made = await passwords.create_reset(web.db, email)
    return f"{web.settings.base_url}/password/reset/{made[0]}" if made else None
