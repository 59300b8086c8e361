"""Every table of the platform; importing this package registers them all on ``Base.metadata``."""

from vumigo.db.models.accounts import Account, AccountToken, AppPermission, User
from vumigo.db.models.channels import Tag, TagPool, TagPoolPermission
from vumigo.db.models.contacts import (
    Contact,
    ContactField,
    ContactGroup,
    ConversationGroup,
    GroupMember,
)
from vumigo.db.models.conversations import Conversation, Router, RoutingEntry
from vumigo.db.models.http_api import PushDelivery, StreamItem
from vumigo.db.models.messages import (
    Batch,
    BatchAddress,
    BatchCounter,
    MessageBatch,
    StoredEvent,
    StoredMessage,
)
from vumigo.db.models.metrics import MetricPoint
from vumigo.db.models.optouts import OptOut

__all__ = [
    "Account",
    "AccountToken",
    "AppPermission",
    "Batch",
    "BatchAddress",
    "BatchCounter",
    "Contact",
    "ContactField",
    "ContactGroup",
    "Conversation",
    "ConversationGroup",
    "GroupMember",
    "MessageBatch",
    "MetricPoint",
    "OptOut",
    "PushDelivery",
    "Router",
    "RoutingEntry",
    "StoredEvent",
    "StoredMessage",
    "StreamItem",
    "Tag",
    "TagPool",
    "TagPoolPermission",
    "User",
]
