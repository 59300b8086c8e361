"""One contact: its page (fields, extras, subscriptions, groups), create, edit, delete.

``extra`` and ``subscription`` are edited as ``name = value`` lines, one entry a line. A number
typed in the contact-number field is stored in international form when it can be read for the
account's country (0821234567 → +27821234567), so messages from that phone find the contact.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from starlette.datastructures import FormData
from starlette.responses import Response

from vumigo.contacts import groups as group_service
from vumigo.contacts import service
from vumigo.contacts.fields import DEFAULT_MAX_LENGTH, MAX_LENGTH, TEXT_FIELDS
from vumigo.contacts.normalise import region_for_msisdn, to_msisdn
from vumigo.contacts.query import InvalidQuery, contact_matches
from vumigo.db.models.accounts import Account
from vumigo.db.models.contacts import Contact, ContactGroup, GroupMember
from vumigo.errors import InvalidInput, VumigoError
from vumigo.web import forms
from vumigo.web.context import Page, Web
from vumigo.web.pages.contacts import MAX_PICKER_GROUPS, static_groups
from vumigo.web.uiroute import UIRoute

router = APIRouter(route_class=UIRoute, include_in_schema=False)

LABELS = {
    "name": "Name",
    "surname": "Surname",
    "email_address": "E-mail address",
    "dob": "Date of birth",
    "msisdn": "Contact number",
    "twitter_handle": "Twitter handle",
    "facebook_id": "Facebook ID",
    "bbm_pin": "BBM PIN",
    "gtalk_id": "Google Talk ID",
    "mxit_id": "Mxit ID",
    "wechat_id": "WeChat ID",
}
MAPS = {"extra": "Extras", "subscription": "Subscriptions"}
MAX_MAP_TEXT = 200_000


def pairs_text(mapping: Mapping[str, Any] | None) -> str:
    return "\n".join(f"{name} = {value}" for name, value in sorted((mapping or {}).items()))


def read_pairs(text: str, label: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise InvalidInput(f"{label}, line {number}: write each entry as name = value.")
        pairs[name.strip()] = value.strip()
    return pairs


def _raw_values(form: FormData) -> dict[str, str]:
    """The form as typed, for showing it again after an error."""
    values = {}
    for name in (*TEXT_FIELDS, *MAPS):
        value = form.get(name, "")
        values[name] = value[:MAX_MAP_TEXT] if isinstance(value, str) else ""
    return values


async def _region(web: Web) -> str | None:
    async with web.db.sessions() as session:
        account = await session.get(Account, web.account_key)
    return region_for_msisdn(account.msisdn if account else None)


async def read_contact(web: Web, form: FormData) -> dict[str, Any]:
    """Contact data from the form, for the contacts service (which checks it further)."""
    data: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        limit = MAX_LENGTH.get(name, DEFAULT_MAX_LENGTH)
        data[name] = forms.text(form, name, label=LABELS[name], max_length=limit) or None
    for name, label in MAPS.items():
        text = forms.text(form, name, label=label, max_length=MAX_MAP_TEXT, strip=False)
        data[name] = read_pairs(text, label)
    if data["msisdn"]:
        region = await _region(web)
        # A value that is no phone number we can read is kept as typed (e.g. "unknown").
        with suppress(InvalidInput):
            data["msisdn"] = to_msisdn(data["msisdn"], region)
    return data


async def _form(web: Web, status: int = 200, **context: Any) -> Response:
    context.setdefault("values", {})
    return await web.page(
        "contacts/form.html",
        status=status,
        nav="contacts",
        labels=LABELS,
        maps=MAPS,
        groups=await static_groups(web),
        **context,
    )


@router.get("/contacts/people/new")
async def new_form(web: Page, group: str = "") -> Response:
    return await _form(web, chosen_group=group)


@router.post("/contacts/people/new")
async def create(web: Page) -> Response:
    form = await forms.read_form(web.request)
    group = forms.text(form, "group", label="Group", max_length=64)
    try:
        data = await read_contact(web, form)
        if group:
            data["groups"] = [group]
        async with web.db.transaction() as session:
            contact = await service.create_contact(session, web.account_key, data)
    except VumigoError as exc:
        return await _form(
            web,
            status=exc.status_code,
            values=_raw_values(form),
            chosen_group=group,
            error=str(exc),
        )
    await web.flash("success", "Contact saved.")
    return web.redirect(f"/contacts/people/{contact.key}/")


async def _memberships(web: Web, contact: Contact) -> tuple[list[ContactGroup], list[ContactGroup]]:
    """The static groups the contact is in, and the smart groups whose query it matches."""
    async with web.db.sessions() as session:
        static = await session.scalars(
            select(ContactGroup)
            .join(GroupMember, GroupMember.group_key == ContactGroup.key)
            .where(GroupMember.contact_key == contact.key)
            .order_by(ContactGroup.name, ContactGroup.key)
        )
        smart = await session.scalars(
            select(ContactGroup)
            .where(ContactGroup.account_key == web.account_key, ContactGroup.query.is_not(None))
            .order_by(ContactGroup.name, ContactGroup.key)
            .limit(MAX_PICKER_GROUPS)
        )
        static_list, smart_list = list(static.all()), list(smart.all())
    matched = []
    for group in smart_list:
        try:
            if group.query and contact_matches(group.query, contact):
                matched.append(group)
        except InvalidQuery:
            continue  # a query saved before a rule tightened; its page explains it
    return static_list, matched


@router.get("/contacts/people/{key}/")
async def show(web: Page, key: str) -> Response:
    async with web.db.sessions() as session:
        contact = await service.get_contact(session, web.account_key, key)
    static, smart = await _memberships(web, contact)
    inside = {group.key for group in static}
    addable = [group for group in await static_groups(web) if group.key not in inside]
    return await web.page(
        "contacts/person.html",
        nav="contacts",
        contact=contact,
        fields=[(LABELS[n], getattr(contact, n)) for n in TEXT_FIELDS if getattr(contact, n)],
        member_of=static,
        smart=smart,
        addable=addable,
    )


@router.get("/contacts/people/{key}/edit")
async def edit_form(web: Page, key: str) -> Response:
    async with web.db.sessions() as session:
        contact = await service.get_contact(session, web.account_key, key)
    values = {name: getattr(contact, name) or "" for name in TEXT_FIELDS}
    values |= {name: pairs_text(getattr(contact, name)) for name in MAPS}
    return await _form(web, contact=contact, values=values)


@router.post("/contacts/people/{key}/edit")
async def edit(web: Page, key: str) -> Response:
    form = await forms.read_form(web.request)
    async with web.db.sessions() as session:
        contact = await service.get_contact(session, web.account_key, key)
    try:
        data = await read_contact(web, form)
        async with web.db.transaction() as session:
            await service.update_contact(session, web.account_key, key, data)
    except VumigoError as exc:
        if exc.status_code == 404:
            raise
        return await _form(
            web, status=400, contact=contact, values=_raw_values(form), error=str(exc)
        )
    await web.flash("success", "Saved.")
    return web.redirect(f"/contacts/people/{key}/")


@router.post("/contacts/people/{key}/delete")
async def delete(web: Page, key: str) -> Response:
    async with web.db.transaction() as session:
        contact = await service.delete_contact(session, web.account_key, key)
    who = " ".join(part for part in (contact.name, contact.surname) if part) or contact.msisdn
    await web.flash("success", f"Deleted {who or 'the contact'}.")
    return web.redirect("/contacts/")


@router.post("/contacts/people/{key}/groups")
async def change_group(web: Page, key: str) -> Response:
    form = await forms.read_form(web.request)
    action = forms.choice(forms.text(form, "action", max_length=16), ("add", "remove"), "")
    group_key = forms.text(form, "group", label="Group", max_length=64)
    if not action:
        raise InvalidInput("Say whether to add the contact to the group or remove it.")
    if not group_key:
        raise InvalidInput("Choose a group.")
    async with web.db.transaction() as session:
        await service.get_contact(session, web.account_key, key)
        group = await group_service.get_group(session, web.account_key, group_key)
        if group.query is not None:
            raise InvalidInput("A smart group's members come from its query; pick a static group.")
        if action == "add":
            await group_service.add_to_group(session, web.account_key, group.key, [key])
        else:
            await group_service.remove_from_group(session, web.account_key, group.key, [key])
    verb = "Added to" if action == "add" else "Removed from"
    await web.flash("success", f"{verb} “{group.name}”.")
    return web.redirect(f"/contacts/people/{key}/")
