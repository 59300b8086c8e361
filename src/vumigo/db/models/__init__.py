"""Every table of the platform; importing this package registers them all on ``Base.metadata``."""

from vumigo.db.models.accounts import Account, AccountToken, AppPermission, User
from vumigo.db.models.apps import AppSession, BulkRecipient, BulkSend, ScheduledTask
from vumigo.db.models.billing import (
    BillingPolicy,
    CreditAccount,
    CreditNotification,
    CreditTransaction,
    MessageCost,
)
from vumigo.db.models.channels import Tag, TagPool, TagPoolPermission
from vumigo.db.models.contact_imports import ContactImport
from vumigo.db.models.contacts import (
    Contact,
    ContactField,
    ContactGroup,
    ConversationGroup,
    GroupMember,
)
from vumigo.db.models.conversations import Conversation, Router, RoutingEntry
from vumigo.db.models.http_api import ApiSlot, PushDelivery, StreamItem
from vumigo.db.models.messages import (
    Batch,
    BatchAddress,
    BatchCounter,
    MessageBatch,
    StoredEvent,
    StoredMessage,
)
from vumigo.db.models.metrics import MetricPoint
from vumigo.db.models.metrics_rollup import MetricRollup, MetricRollupState
from vumigo.db.models.optouts import OptOut
from vumigo.db.models.sandbox import SandboxKeyValue, SandboxLogLine
from vumigo.db.models.transports import SmscCorrelation, UssdSession
from vumigo.db.models.web import PasswordReset, WebSession

__all__ = [
    "Account",
    "AccountToken",
    "ApiSlot",
    "AppPermission",
    "AppSession",
    "Batch",
    "BatchAddress",
    "BatchCounter",
    "BillingPolicy",
    "BulkRecipient",
    "BulkSend",
    "Contact",
    "ContactField",
    "ContactGroup",
    "ContactImport",
    "Conversation",
    "ConversationGroup",
    "CreditAccount",
    "CreditNotification",
    "CreditTransaction",
    "GroupMember",
    "MessageBatch",
    "MessageCost",
    "MetricPoint",
    "MetricRollup",
    "MetricRollupState",
    "OptOut",
    "PasswordReset",
    "PushDelivery",
    "Router",
    "RoutingEntry",
    "SandboxKeyValue",
    "SandboxLogLine",
    "ScheduledTask",
    "SmscCorrelation",
    "StoredEvent",
    "StoredMessage",
    "StreamItem",
    "Tag",
    "TagPool",
    "TagPoolPermission",
    "User",
    "UssdSession",
    "WebSession",
]
