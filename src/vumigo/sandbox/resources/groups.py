"""The ``groups`` resource: the account's contact groups, as Vumi Go's sandbox offered them.

**A group on the wire** (``group``, or each of ``groups``, in replies)::

    {"key": "<group key>", "user_account": "<account key>", "name": "Subscribers",
     "query": null, "created_at": "2024-01-31 12:00:00.000000"}

A non-null ``query`` (Lucene syntax over contact fields, e.g. ``extras-city:CPT``) makes a smart
group: its members are every contact the query matches, plus any added by hand.

Group names need not be unique (as in the original); the by-name commands fail with "Multiple
groups found" when several share the name. ``search`` takes a Lucene query over the groups' own
``name`` and ``key`` (``name:"Sub*"``; a bare word searches the name). Every command works
within the run's account: another account's group is "Group not found".
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.contacts.groups import (
    count_group_contacts,
    create_group,
    find_group,
    groups_named,
    list_groups,
    update_group,
)
from vumigo.contacts.query import Field, matches, parse
from vumigo.db.engine import Database
from vumigo.db.models.contacts import ContactGroup
from vumigo.errors import VumigoError
from vumigo.sandbox.resources import Reply, Request, Resource, ResourceError, command
from vumigo.sandbox.run import Run

GROUP_NOT_FOUND = "Group not found"
MULTIPLE_GROUPS = "Multiple groups found"
WIRE_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"

_KEY_ERROR = "'key' needs to be specified and be a string"
_NAME_ERROR = "'name' needs to be specified and be a string"
_QUERY_ERROR = "'query' needs to be a string"
_GROUP_REPLY = {"group": "the group (see 'A group on the wire' above)"}


def group_data(group: ContactGroup) -> dict[str, Any]:
    return {
        "key": group.key,
        "user_account": group.account_key,
        "name": group.name,
        "query": group.query,
        "created_at": group.created_at.strftime(WIRE_TIME_FORMAT),
    }


def _string(request: Request, field: str, reason: str) -> str:
    value = request.get(field)
    if not isinstance(value, str):
        raise ResourceError(reason)
    return value


def _group_getter(group: ContactGroup) -> Any:
    def get(field: Field) -> str | None:
        if field.kind == "column" and field.name in ("name", "key"):
            value: str = getattr(group, field.name)
            return value
        return None

    return get


class GroupsResource(Resource):
    """Look up, create, rename, search and count the account's contact groups."""

    name = "groups"

    def __init__(self, db: Database) -> None:
        self.db = db

    async def _by_key(self, session: AsyncSession, run: Run, request: Request) -> ContactGroup:
        key = _string(request, "key", _KEY_ERROR)
        group = await find_group(session, run.account_key, key)
        if group is None:
            raise ResourceError(GROUP_NOT_FOUND)
        return group

    async def _one_named(self, session: AsyncSession, run: Run, name: str) -> ContactGroup | None:
        found = await groups_named(session, run.account_key, name)
        if len(found) > 1:
            raise ResourceError(MULTIPLE_GROUPS)
        return found[0] if found else None

    @command(
        "Get a group by its key.",
        request={"key": "string: the group's key"},
        reply=_GROUP_REPLY,
        errors=(_KEY_ERROR, GROUP_NOT_FOUND),
    )
    async def get(self, request: Request, run: Run) -> Reply:
        async with self.db.sessions() as session:
            return {"group": group_data(await self._by_key(session, run, request))}

    @command(
        "Get the group with a name.",
        request={"name": "string: the group's name"},
        reply=_GROUP_REPLY,
        errors=(_NAME_ERROR, GROUP_NOT_FOUND, MULTIPLE_GROUPS),
    )
    async def get_by_name(self, request: Request, run: Run) -> Reply:
        name = _string(request, "name", _NAME_ERROR)
        async with self.db.sessions() as session:
            group = await self._one_named(session, run, name)
        if group is None:
            raise ResourceError(GROUP_NOT_FOUND)
        return {"group": group_data(group)}

    @command(
        "Get the group with a name, making a static group of that name if there is none.",
        request={"name": "string: the group's name"},
        reply={**_GROUP_REPLY, "created": "boolean: whether it was made now"},
        errors=(_NAME_ERROR, MULTIPLE_GROUPS, "Group name is required.", "<invalid name text>"),
    )
    async def get_or_create_by_name(self, request: Request, run: Run) -> Reply:
        name = _string(request, "name", _NAME_ERROR)
        try:
            async with self.db.transaction() as session:
                group = await self._one_named(session, run, name)
                created = group is None
                if group is None:
                    group = await create_group(session, run.account_key, name)
                return {"group": group_data(group), "created": created}
        except VumigoError as exc:
            raise ResourceError(str(exc)) from None

    @command(
        "Rename a group and set its query. As in the original, a missing or null 'query' makes "
        "the group static.",
        request={
            "key": "string: the group's key",
            "name": "string: the new name",
            "query": "string or null: the smart-group query",
        },
        reply=_GROUP_REPLY,
        errors=(
            _KEY_ERROR,
            _NAME_ERROR,
            _QUERY_ERROR,
            GROUP_NOT_FOUND,
            "<why the query or name is invalid>",
        ),
    )
    async def update(self, request: Request, run: Run) -> Reply:
        name = _string(request, "name", _NAME_ERROR)
        query = request.get("query")
        if query is not None and not isinstance(query, str):
            raise ResourceError(_QUERY_ERROR)
        try:
            async with self.db.transaction() as session:
                group = await self._by_key(session, run, request)
                changes = {"name": name, "query": query}
                group = await update_group(session, run.account_key, group.key, changes)
                return {"group": group_data(group)}
        except VumigoError as exc:
            raise ResourceError(str(exc)) from None

    @command(
        "Find groups with a Lucene query over their 'name' and 'key'.",
        request={"query": "string: e.g. 'name:\"Subscribers\"' or 'name:Sub*'"},
        reply={"groups": "list of the matching groups, in key order"},
        errors=(_QUERY_ERROR, "<why the query is invalid>"),
    )
    async def search(self, request: Request, run: Run) -> Reply:
        query = _string(request, "query", _QUERY_ERROR)
        try:
            node = parse(query)
        except VumigoError as exc:
            raise ResourceError(str(exc)) from None
        # An account has few groups: matching them here beats a second query language in SQL.
        async with self.db.sessions() as session:
            groups = await list_groups(session, run.account_key)
        found = [group_data(g) for g in groups if matches(node, _group_getter(g))]
        return {"groups": found}

    @command(
        "List all the account's groups.",
        reply={"groups": "list of groups, in key order"},
    )
    async def list(self, request: Request, run: Run) -> Reply:
        async with self.db.sessions() as session:
            groups = await list_groups(session, run.account_key)
        return {"groups": [group_data(g) for g in groups]}

    @command(
        "Count a group's members (static members plus, for a smart group, every match).",
        request={"key": "string: the group's key"},
        reply={**_GROUP_REPLY, "count": "integer: how many contacts are in the group"},
        errors=(_KEY_ERROR, GROUP_NOT_FOUND),
    )
    async def count_members(self, request: Request, run: Run) -> Reply:
        try:
            async with self.db.sessions() as session:
                group = await self._by_key(session, run, request)
                count = await count_group_contacts(session, run.account_key, group.key)
        except VumigoError as exc:
            raise ResourceError(str(exc)) from None
        return {"group": group_data(group), "count": count}
