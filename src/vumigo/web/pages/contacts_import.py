"""Importing contacts: upload a file, map its columns, pick a group, then watch it run.

The steps are one job (``vumigo.contacts.import_jobs``): the upload page refuses a wrong or
damaged file at once; the mapping page shows the first rows with each column's guessed field;
starting it runs the import in the background (``vumigo.contacts.import_runner``) and the job's
page polls a small fragment until the bar is full, then shows what was created, updated or
refused and why.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive

from vumigo.contacts import groups as group_service
from vumigo.contacts.columns import Column
from vumigo.contacts.fields import TEXT_FIELDS
from vumigo.contacts.import_jobs import (
    MAX_UPLOAD,
    NORMALISERS,
    check_plan,
    create_upload,
    find_import,
    recent_imports,
)
from vumigo.contacts.import_runner import Runner, runner_for
from vumigo.db.models.contact_imports import ContactImport
from vumigo.errors import Conflict, InvalidInput, VumigoError
from vumigo.web import forms
from vumigo.web.context import Page, Web
from vumigo.web.pages.contacts import static_groups
from vumigo.web.pages.contacts_paging import static_counts
from vumigo.web.pages.contacts_people import LABELS
from vumigo.web.uiroute import UIRoute

# Room for the form's other fields and the multipart framing around the file.
MAX_BODY = MAX_UPLOAD + 64 * 1024
TOO_BIG = f"The file is too big (at most {MAX_UPLOAD // (1024 * 1024)} MB)."
SHOWN_ERRORS = 100
RULE_LABELS = {
    "new": "Add every row as a new contact (all or nothing)",
    "upload_is_truth": "Update contacts by key; the file's values win",
    "existing_is_truth": "Update contacts by key; only fill in empty fields",
}
NORMALISER_LABELS = {
    "string": "as text",
    "msisdn": "phone number (national numbers for the country below)",
    "msisdn_int": "phone number (international only)",
    "integer": "whole number",
    "float": "decimal number",
}


def _capped(receive: Receive, limit: int) -> Receive:
    """A receive channel that refuses a body over ``limit`` before it is all read.

    The CSRF check parses the form before any handler runs, so this is the one place to stop
    an oversized upload from being spooled to disk in full.
    """
    seen = 0

    async def capped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise InvalidInput(TOO_BIG)
        return message

    return capped


class UploadRoute(UIRoute):
    """``UIRoute`` with a cap on the request body, for the upload form."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            declared = request.headers.get("content-length", "")
            limit = 0 if declared.isdigit() and int(declared) > MAX_BODY else MAX_BODY
            return await handler(Request(request.scope, _capped(request.receive, limit)))

        return run


# Every route here takes the cap: only the upload has a body anywhere near it.
router = APIRouter(route_class=UploadRoute, include_in_schema=False)


def runner(web: Web) -> Runner:
    return runner_for(web.platform)


async def _upload_page(web: Web, status: int = 200, **context: Any) -> Response:
    async with web.db.sessions() as session:
        jobs = await recent_imports(session, web.account_key)
    jobs = [await runner(web).settle(job) if job.status == "running" else job for job in jobs]
    return await web.page(
        "contacts/import.html",
        status=status,
        nav="contacts",
        jobs=jobs,
        max_mb=MAX_UPLOAD // (1024 * 1024),
        **context,
    )


@router.get("/contacts/import/")
async def upload_form(web: Page, group: str = "") -> Response:
    return await _upload_page(web, group=forms.query_text(group, 64))


@router.post("/contacts/import/")
async def upload(web: Page) -> Response:
    form = await forms.read_form(web.request)
    group = forms.text(form, "group", max_length=64)
    file = form.get("file")
    try:
        if not isinstance(file, UploadFile) or not file.filename:
            raise InvalidInput("Choose a CSV, XLS or XLSX file to upload.")
        content = await file.read(MAX_UPLOAD + 1)
        job = await create_upload(web.db, web.account_key, file.filename, content)
    except VumigoError as exc:
        return await _upload_page(web, status=exc.status_code, group=group, error=str(exc))
    suffix = f"?group={group}" if group.isalnum() else ""
    return web.redirect(f"/contacts/import/{job.key}/{suffix}")


def _choices(job: ContactImport) -> list[dict[str, Any]]:
    """Each column of the file with its samples, chosen field and the fields offered."""
    preview = job.preview
    header = preview.get("header") or []
    chosen = job.columns or [{"field": f, "normaliser": n} for f, n in preview["guessed"]]
    columns = []
    for index in range(preview["width"]):
        title = header[index] if index < len(header) else ""
        field = chosen[index]["field"] if index < len(chosen) else ""
        extra_name = field if field and field not in (*TEXT_FIELDS, "key") else None
        if extra_name is None:
            extra_name = "extras-" + (
                "".join(c if c.isalnum() else "_" for c in title.lower()).strip("_")
                or f"column_{index + 1}"
            )
        columns.append(
            {
                "index": index,
                "title": title or f"Column {index + 1}",
                "samples": [row[index] if index < len(row) else "" for row in preview["rows"]],
                "field": field,
                "normaliser": chosen[index]["normaliser"] if index < len(chosen) else "string",
                "extra": extra_name,
            }
        )
    return columns


async def _mapping_page(web: Web, job: ContactImport, status: int = 200, **extra: Any) -> Response:
    extra.setdefault("chosen", {"rule": job.rule, "group": "", "country": job.country or ""})
    return await web.page(
        "contacts/import_map.html",
        status=status,
        nav="contacts",
        job=job,
        columns=_choices(job),
        labels=LABELS,
        normalisers=NORMALISER_LABELS,
        rules=RULE_LABELS,
        groups=await static_groups(web),
        **extra,
    )


async def _progress_context(web: Web, job: ContactImport) -> dict[str, Any]:
    group = None
    members = None
    if job.group_key:
        async with web.db.sessions() as session:
            group = await group_service.find_group(session, web.account_key, job.group_key)
            if group is not None and job.status in ("done", "failed"):
                members = (await static_counts(session, [group.key]))[group.key]
    return {
        "job": job,
        "progress": runner(web).progress(job),
        "group": group,
        "members": members,
        "errors": job.errors[:SHOWN_ERRORS],
    }


@router.get("/contacts/import/{key}/")
async def job_page(web: Page, key: str, group: str = "") -> Response:
    async with web.db.sessions() as session:
        job = await find_import(session, web.account_key, key)
    if job.status == "uploaded":
        chosen = {"rule": "new", "group": forms.query_text(group, 64), "country": ""}
        return await _mapping_page(web, job, chosen=chosen)
    job = await runner(web).settle(job)
    context = await _progress_context(web, job)
    return await web.page("contacts/import_job.html", nav="contacts", **context)


@router.get("/contacts/import/{key}/progress")
async def progress(web: Page, key: str) -> Response:
    async with web.db.sessions() as session:
        job = await find_import(session, web.account_key, key)
    if job.status == "uploaded":
        raise Conflict("This import has not been started yet.")
    job = await runner(web).settle(job)
    return web.fragment("contacts/_import_progress.html", **await _progress_context(web, job))


def _read_columns(form: Any, width: int) -> list[Column]:
    columns = []
    for index in range(width):
        field = forms.text(form, f"column-{index}", label=f"Column {index + 1}", max_length=300)
        normaliser = forms.text(form, f"normalize-{index}", max_length=32) or "string"
        if normaliser not in NORMALISERS:
            raise InvalidInput(f"Column {index + 1}: unknown way to read values {normaliser!r}.")
        columns.append(Column(field=field, normaliser=normaliser))
    return columns


@router.post("/contacts/import/{key}/start")
async def start(web: Page, key: str) -> Response:
    form = await forms.read_form(web.request)
    async with web.db.sessions() as session:
        job = await find_import(session, web.account_key, key)
    chosen = {
        "rule": forms.text(form, "rule", max_length=32) or "new",
        "group": forms.text(form, "group", label="Group", max_length=64),
        "new_group": forms.text(form, "new_group", label="New group name"),
        "country": forms.text(form, "country", label="Country", max_length=8),
    }
    if job.status != "uploaded":
        raise Conflict("This import has already been started.")
    if not chosen["group"] and chosen["new_group"]:
        chosen["group"] = "new"  # a name typed without choosing "a new group" means one
    made_group = None
    try:
        columns = _read_columns(form, job.preview["width"])
        # Kept on this (unsaved) copy, so a mistake shows the mapping as the person left it.
        job.columns = [{"field": c.field, "normaliser": c.normaliser} for c in columns]
        job.has_header = form.get("has_header") == "1"
        plan = check_plan(columns, chosen["rule"], job.has_header, chosen["country"] or None)
        group_key: str | None = None
        async with web.db.transaction() as session:
            if chosen["group"] == "new":
                if not chosen["new_group"]:
                    raise InvalidInput("Give the new group a name.")
                made_group = await group_service.create_group(
                    session, web.account_key, chosen["new_group"]
                )
                group_key = made_group.key
            elif chosen["group"]:
                group = await group_service.get_group(session, web.account_key, chosen["group"])
                if group.query is not None:
                    raise InvalidInput("Contacts can be imported into static groups only.")
                group_key = group.key
        await runner(web).start(web.account_key, key, plan, group_key)
    except VumigoError as exc:
        if made_group is not None:
            async with web.db.transaction() as session:
                await group_service.delete_group(session, web.account_key, made_group.key)
        return await _mapping_page(web, job, status=exc.status_code, chosen=chosen, error=str(exc))
    return web.redirect(f"/contacts/import/{key}/")
