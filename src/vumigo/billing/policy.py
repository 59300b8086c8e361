"""The low-credit policy: thresholds (percentages of the last top-up) and the optional cutoff.

The settings give the defaults; an operator can override them while the platform runs (``vumigo
credit policy``, the operator page), which is stored in ``billing_policy``.

How a balance maps to a threshold follows the original: the balance as a percentage of the
last top-up is rounded *up* to a whole percent; its level is the lowest threshold at or above
it (none when it is above them all). A notification is due when a charge moves the account to a
lower level. The cutoff engages below the lowest threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.db.base import utcnow
from vumigo.db.models import BillingPolicy
from vumigo.db.upsert import insert_for
from vumigo.errors import InvalidInput

DEFAULT_PERCENTAGES = (10, 20, 50)


@dataclass(frozen=True, slots=True)
class Policy:
    percentages: tuple[int, ...] = DEFAULT_PERCENTAGES  # ascending, no repeats
    cutoff: bool = False
    emails: bool = True

    @property
    def lowest(self) -> int | None:
        return self.percentages[0] if self.percentages else None


def parse_percentages(text: str | list[int] | tuple[int, ...]) -> tuple[int, ...]:
    """Reads "10,20,50" (or a list) as sorted, distinct whole percentages from 0 to 100."""
    items: list[Any] = text.split(",") if isinstance(text, str) else list(text)
    values: set[int] = set()
    for item in items:
        if isinstance(item, str) and not item.strip():
            continue
        try:
            value = int(str(item).strip())
        except ValueError:
            raise InvalidInput(f"a threshold must be a whole percentage, not {item!r}") from None
        if not 0 <= value <= 100:
            raise InvalidInput(f"a threshold must be between 0 and 100, not {value}")
        values.add(value)
    return tuple(sorted(values))


def from_settings(settings: object) -> Policy:
    """The policy the settings give (fields may be missing until config.py gains them)."""
    percentages = getattr(settings, "billing_low_credit_percentages", DEFAULT_PERCENTAGES)
    return Policy(
        percentages=parse_percentages(percentages),
        cutoff=bool(getattr(settings, "billing_credit_cutoff", False)),
        emails=bool(getattr(settings, "billing_low_credit_emails", True)),
    )


async def load_policy(session: AsyncSession, defaults: Policy) -> Policy:
    row = await session.get(BillingPolicy, 1)
    if row is None:
        return defaults
    percentages = defaults.percentages
    if row.low_credit_percentages is not None:
        percentages = parse_percentages(row.low_credit_percentages)
    cutoff = defaults.cutoff if row.credit_cutoff is None else row.credit_cutoff
    return Policy(percentages=percentages, cutoff=cutoff, emails=defaults.emails)


async def save_policy(
    session: AsyncSession,
    percentages: tuple[int, ...] | None = None,
    cutoff: bool | None = None,
    reset: bool = False,
) -> None:
    """Overrides the thresholds and/or the cutoff; ``reset`` returns both to the settings."""
    values: dict[str, Any] = {"updated_at": utcnow()}
    if reset:
        values.update(low_credit_percentages=None, credit_cutoff=None)
    if percentages is not None:
        values["low_credit_percentages"] = ",".join(str(p) for p in percentages)
    if cutoff is not None:
        values["credit_cutoff"] = cutoff
    stmt = insert_for(session, BillingPolicy).values(id=1, **values)
    await session.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=values))
    existing = await session.get(BillingPolicy, 1)
    if existing is not None:
        await session.refresh(existing)  # the upsert bypassed the session's copy


def percent_of(balance: Decimal, last_topup: Decimal) -> int | None:
    """The balance in whole percent of the last top-up, rounded up; None without a top-up."""
    if last_topup <= 0:
        return None
    return int((balance * 100 / last_topup).to_integral_value(rounding=ROUND_CEILING))


def level_of(policy: Policy, balance: Decimal, last_topup: Decimal) -> int | None:
    """The lowest threshold at or above the balance's percentage; None if above them all."""
    percent = percent_of(balance, last_topup)
    if percent is None:
        return None
    for threshold in policy.percentages:
        if percent <= threshold:
            return threshold
    return None


def crossed(policy: Policy, before: Decimal, after: Decimal, last_topup: Decimal) -> int | None:
    """The threshold a change of balance from ``before`` to ``after`` went down past, if any."""
    now = level_of(policy, after, last_topup)
    if now is None:
        return None
    was = level_of(policy, before, last_topup)
    return now if was is None or now < was else None


def below_cutoff(policy: Policy, balance: Decimal, last_topup: Decimal) -> bool:
    """Whether outbound sending must stop for an account.

    The original never cut off an account that had never been topped up (it had nothing to
    take a percentage of). Such an account here is cut off once it has no credit left: the
    point of the cutoff is that an account cannot send on credit it never had.
    """
    if not policy.cutoff:
        return False
    percent = percent_of(balance, last_topup)
    if percent is None:
        return balance <= 0
    lowest = policy.lowest
    return lowest is not None and percent < lowest
