"""Account scores: the rollup of the account's lead totals plus the account's own fit rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from leadscore.engine.compiled import CompiledModel, cents_to_decimal
from leadscore.engine.types import Account, Contribution, Lead


@dataclass(frozen=True, slots=True)
class AccountScore:
    model: str
    account_id: str
    rollup: Decimal
    fit: Decimal
    total: Decimal
    tier: str
    lead_count: int
    contributions: tuple[Contribution, ...]


def score_account(compiled: CompiledModel, account: Account, lead_totals: Sequence[Decimal]) -> AccountScore:
    """``lead_totals`` are the account's leads' totals under the same model at the same ``as_of``."""
    settings = compiled.model.account
    method = settings.rollup.method
    ordered = sorted(lead_totals, reverse=True)
    if not ordered:
        rollup = Decimal(0)
    elif method == "sum":
        rollup = sum(ordered, Decimal(0))
    elif method == "max":
        rollup = ordered[0]
    else:
        top = ordered[: settings.rollup.n]
        mean_cents = sum(int(t * 100) for t in top) / len(top)
        rollup = cents_to_decimal(int(mean_cents + 0.5) if mean_cents >= 0 else -int(-mean_cents + 0.5))
    contributions = [Contribution(f"rollup.{method}", "rollup", rollup, rollup, len(ordered), len(ordered))]
    # Account fit rules see the account's fields both bare and as account.<field>.
    subject = Lead(id=account.id, fields=account.fields, account=account)
    fit_cents = 0
    for frule in compiled.account_fit:
        if frule.matches(subject):
            fit_cents += frule.cents
            contributions.append(frule.contribution)
    fit = cents_to_decimal(fit_cents)
    total = rollup + fit
    tiers = settings.tiers or compiled.model.tiers
    return AccountScore(
        model=compiled.key,
        account_id=account.id,
        rollup=rollup,
        fit=fit,
        total=total,
        tier=tiers.place(float(total)),
        lead_count=len(ordered),
        contributions=tuple(contributions),
    )
