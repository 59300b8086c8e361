"""Describing a tag pool: its name, its tags and its metadata, from any of the accepted forms.

Tags come as a list, as a ``PREFIX:START-END`` range, or from a YAML file shaped like the
original's ``tagpools.yaml``::

    pools:
      longcode:
        tags: '["longcode-%d" % i for i in range(10001, 10001 + 1000)]'
        metadata: {display_name: Long code, transport_name: sms_transport, ...}

The original ``eval()``-ed that tags string. Here only that one idiom (a list literal, or
``"fmt" % i for i in range(...)``) is understood, by walking its syntax tree: nothing is run.

Metadata is kept flat, with dotted keys (``supports.generic_sends``, ``smpp.host``), so a
nested YAML mapping and ``--meta supports.replies=true`` end up the same.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from vumigo.errors import InvalidInput

BOOL_KEYS = frozenset(
    {
        "user_selects_tag",
        "supports.generic_sends",
        "supports.replies",
        "reply_to_unroutable_inbound",
        "disable_global_opt_out",
        "server_initiated",
        "client_initiated",
    }
)
STR_KEYS = frozenset(
    {
        "transport_name",
        "transport_type",
        "delivery_class",
        "display_name",
        "country_name",
        "unroutable_inbound_reply",
    }
)
# What a pool reports for a key its metadata leaves out.
DEFAULTS: dict[str, Any] = {
    "country_name": "International",
    "unroutable_inbound_reply": "Vumi Go could not route your message. Please try again soon.",
    "user_selects_tag": False,
    "supports.generic_sends": False,
    "supports.replies": False,
    "reply_to_unroutable_inbound": False,
    "disable_global_opt_out": False,
}
MAX_TAGS = 100_000  # per operation; a typo in a range should not insert a billion rows

_RANGE = re.compile(r"^(?P<prefix>.*):(?P<start>\d+)-(?P<end>\d+)$")
_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")


@dataclass(slots=True)
class PoolSpec:
    name: str
    tags: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)


def meta_value(meta: Mapping[str, Any], key: str) -> Any:
    """A pool's metadata value for ``key``, falling back to the documented default."""
    return meta.get(key, DEFAULTS.get(key))


def check_pool_name(name: str) -> str:
    # Pool names appear inside connectors ("TRANSPORT_TAG:<pool>:<tag>"), so no ':' or spaces.
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInput(
            f"invalid pool name {name!r}: use 1-128 letters, digits, '_', '-' or '.'"
        )
    return name


def check_tags(tags: Any) -> list[str]:
    """The tags as a list of unique strings in their given order; InvalidInput if one is bad."""
    if not isinstance(tags, list | tuple):
        raise InvalidInput("tags must be a list")
    seen: dict[str, None] = {}
    for tag in tags:
        value = str(tag) if isinstance(tag, int) and not isinstance(tag, bool) else tag
        if not isinstance(value, str) or not value or len(value) > 128:
            raise InvalidInput(f"invalid tag {tag!r}: tags are 1-128 characters")
        if any(c.isspace() for c in value) or "::" in value:
            # "::" separates a connector from its endpoint in the UI and RPC ids.
            raise InvalidInput(f"invalid tag {tag!r}: no spaces or '::'")
        seen[value] = None
    if len(seen) > MAX_TAGS:
        raise InvalidInput(f"too many tags ({len(seen)}); at most {MAX_TAGS} at a time")
    return list(seen)


def tag_range(spec: str) -> list[str]:
    """``PREFIX:START-END`` (inclusive) → tags; a zero-padded START keeps its width."""
    match = _RANGE.match(spec.strip())
    if not match:
        raise InvalidInput(f"invalid tag range {spec!r}: expected PREFIX:START-END")
    start, end = int(match["start"]), int(match["end"])
    if end < start:
        raise InvalidInput(f"invalid tag range {spec!r}: END is before START")
    if end - start + 1 > MAX_TAGS:
        raise InvalidInput(f"tag range {spec!r} is too long; at most {MAX_TAGS} tags")
    width = len(match["start"]) if match["start"].startswith("0") else 0
    return [f"{match['prefix']}{n:0{width}d}" for n in range(start, end + 1)]


def _int(node: ast.expr) -> int:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.Mult):
        left, right = _int(node.left), _int(node.right)
        if isinstance(node.op, ast.Add):
            return left + right
        return left - right if isinstance(node.op, ast.Sub) else left * right
    raise ValueError("only integer arithmetic is understood in range()")


def tags_expression(text: str) -> list[str]:
    """The tags a tagpools.yaml ``tags`` string describes, without evaluating it."""
    if _RANGE.match(text.strip()):
        return tag_range(text)
    try:
        node = ast.parse(text.strip(), mode="eval").body
        if isinstance(node, ast.List):
            return check_tags(ast.literal_eval(node))
        if not (isinstance(node, ast.ListComp) and len(node.generators) == 1):
            raise ValueError("expected a list or a list comprehension")
        loop = node.generators[0]
        elt = node.elt
        if not (
            isinstance(loop.target, ast.Name)
            and not loop.ifs
            and isinstance(loop.iter, ast.Call)
            and isinstance(loop.iter.func, ast.Name)
            and loop.iter.func.id == "range"
            and 1 <= len(loop.iter.args) <= 3
            and isinstance(elt, ast.BinOp)
            and isinstance(elt.op, ast.Mod)
            and isinstance(elt.left, ast.Constant)
            and isinstance(elt.left.value, str)
            and isinstance(elt.right, ast.Name)
            and elt.right.id == loop.target.id
        ):
            raise ValueError('expected ["FORMAT" % i for i in range(START, END)]')
        numbers = range(*(_int(arg) for arg in loop.iter.args))
        if len(numbers) > MAX_TAGS:
            raise ValueError(f"more than {MAX_TAGS} tags")
        return check_tags([elt.left.value % n for n in numbers])
    except (SyntaxError, ValueError, TypeError) as exc:
        raise InvalidInput(f"cannot read tags {text!r}: {exc}") from exc


def flatten(meta: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings become dotted keys: {"supports": {"replies": True}} → supports.replies."""
    flat: dict[str, Any] = {}
    for key, value in meta.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def check_meta(meta: Mapping[str, Any]) -> dict[str, Any]:
    """Flattened metadata with the known keys' types checked."""
    if not isinstance(meta, Mapping):
        raise InvalidInput("pool metadata must be a mapping")
    flat = flatten(meta)
    # The original's sample pools put the transport under msg_options; the dispatcher wants it
    # at the top, where the reference documents it.
    if "transport_name" not in flat and "msg_options.transport_name" in flat:
        flat["transport_name"] = flat["msg_options.transport_name"]
    for key, value in flat.items():
        if not key or not isinstance(key, str):
            raise InvalidInput(f"invalid metadata key {key!r}")
        if key in BOOL_KEYS and not isinstance(value, bool):
            raise InvalidInput(f"metadata {key} must be true or false, not {value!r}")
        if key in STR_KEYS and not isinstance(value, str):
            raise InvalidInput(f"metadata {key} must be a string, not {value!r}")
    return flat


def read_pools_file(text: str) -> dict[str, PoolSpec]:
    """The pools a tagpools.yaml text declares, by name."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "syntax error"
        raise InvalidInput(f"invalid YAML: {first}") from exc
    pools = doc.get("pools") if isinstance(doc, dict) else None
    if not isinstance(pools, dict):
        raise InvalidInput("a tagpools file needs a top-level 'pools' mapping")
    specs: dict[str, PoolSpec] = {}
    for name, body in pools.items():
        if not isinstance(body, dict):
            raise InvalidInput(f"pool {name!r}: expected a mapping with tags and metadata")
        raw_tags = body.get("tags", [])
        tags = tags_expression(raw_tags) if isinstance(raw_tags, str) else check_tags(raw_tags)
        meta = check_meta(body.get("metadata") or {})
        specs[str(name)] = PoolSpec(check_pool_name(str(name)), tags, meta)
    return specs


def read_meta(text: str) -> dict[str, Any]:
    """Pool metadata typed as a YAML (or JSON) mapping, flattened and checked; {} when blank."""
    if not text.strip():
        return {}
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "syntax error"
        raise InvalidInput(f"invalid metadata YAML: {first}") from exc
    if not isinstance(doc, dict):
        raise InvalidInput("pool metadata must be a mapping, like 'display_name: Long code'")
    return check_meta(doc)
