"""Contacts, groups (static and smart), opt-outs, queries, import and export.

The services other parts call are re-exported here; the import/export modules
(``vumigo.contacts.importer``, ``vumigo.contacts.export``) are imported where needed, since they
pull in the spreadsheet libraries.
"""

from vumigo.contacts.audience import conversation_recipients, count_recipients, recipients
from vumigo.contacts.fields import DELIVERY_CLASSES, address_field, delivery_class_for_transport
from vumigo.contacts.groups import (
    add_to_group,
    conversation_group_keys,
    create_group,
    delete_group,
    get_group,
    group_contacts,
    list_groups,
    set_conversation_groups,
    update_group,
)
from vumigo.contacts.optouts import (
    count_optouts,
    delete_optout,
    get_optout,
    is_opted_out,
    opted_out_among,
    set_optout,
)
from vumigo.contacts.query import InvalidQuery, parse
from vumigo.contacts.service import (
    count_contacts,
    create_contact,
    delete_contact,
    find_by_address,
    get_contact,
    get_or_create_by_address,
    list_contacts,
    update_contact,
)

__all__ = [
    "DELIVERY_CLASSES",
    "InvalidQuery",
    "add_to_group",
    "address_field",
    "conversation_group_keys",
    "conversation_recipients",
    "count_contacts",
    "count_optouts",
    "count_recipients",
    "create_contact",
    "create_group",
    "delete_contact",
    "delete_group",
    "delete_optout",
    "delivery_class_for_transport",
    "find_by_address",
    "get_contact",
    "get_group",
    "get_optout",
    "get_or_create_by_address",
    "group_contacts",
    "is_opted_out",
    "list_contacts",
    "list_groups",
    "opted_out_among",
    "parse",
    "recipients",
    "set_conversation_groups",
    "set_optout",
    "update_contact",
    "update_group",
]
