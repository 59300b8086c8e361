"""Every table of the platform; importing this package registers them all on ``Base.metadata``."""

from vumigo.db.models.accounts import Account, AccountToken, AppPermission, User
from vumigo.db.models.channels import Tag, TagPool, TagPoolPermission
from vumigo.db.models.conversations import Conversation, Router, RoutingEntry
from vumigo.db.models.optouts import OptOut

__all__ = [
    "Account",
    "AccountToken",
    "AppPermission",
    "Conversation",
    "OptOut",
    "Router",
    "RoutingEntry",
    "Tag",
    "TagPool",
    "TagPoolPermission",
    "User",
]
