"""Billing: message costs, credit, the low-credit cutoff and notifications, statements.

- ``costs``: prices per direction and scope (account, pool, provider) and the credit formula.
- ``credit``: balances, top-ups, and charging a unit of work's messages atomically.
- ``policy``: low-credit thresholds and the cutoff (settings, overridable by operators).
- ``held``: outbound messages held back by the cutoff, and their release.
- ``notify``: the low-credit banner and e-mails.
- ``statements``: monthly statements per account, CSV, and the operator's report.
- ``step``: ``Billing``, the object the dispatcher calls while it plans a batch.
"""

from vumigo.billing.step import OUT_OF_CREDIT_REPLY, Action, Billing, Decision

__all__ = ["OUT_OF_CREDIT_REPLY", "Action", "Billing", "Decision"]
