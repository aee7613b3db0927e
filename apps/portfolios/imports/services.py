"""Applying an import: every position of the file written in one transaction, or none.

The portfolio row is locked first (select_for_update), so two imports of one portfolio, or an
import and a rename, run one after the other; the plan is then built again from what is
committed. If it is not what the dry run showed (a position was edited meanwhile, a symbol
became inactive), nothing is written and the caller shows the new report instead.

Positions are written in bulk (one UPDATE and one INSERT per 500), which sends no
`post_save` signals: the one revaluation the position signals would ask for is asked here,
once committed, and so are the FX pairs the new currencies need (as `position_add` does).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from apps.market.requests import assets_lookup_queue
from apps.portfolios.imports.parsed import ParsedFile
from apps.portfolios.imports.plan import ImportMode, ImportPlan, import_plan_build
from apps.portfolios.models import Portfolio, Position
from apps.portfolios.requests import portfolio_revalue_request
from apps.portfolios.selectors import fx_pairs_lacking

BATCH_SIZE = 500


class ImportNotApplicable(ValueError):
    """Built again under the lock, the plan has problems or differs from the dry run's."""

    def __init__(self, plan: ImportPlan) -> None:
        super().__init__("the import's plan changed or has problems")
        self.plan = plan


def import_apply(
    *, portfolio_id: int, parsed: ParsedFile, mode: ImportMode, fingerprint: str
) -> ImportPlan:
    """Write the plan the dry run showed (its `fingerprint`); raises ImportNotApplicable with
    the new plan when that is no longer what would be written, and lets a database error
    (an IntegrityError) roll everything back."""
    with transaction.atomic():
        portfolio = Portfolio.objects.select_for_update().get(pk=portfolio_id)
        plan = import_plan_build(portfolio_id=portfolio.pk, parsed=parsed, mode=mode)
        if not plan.can_apply or plan.fingerprint != fingerprint:
            raise ImportNotApplicable(plan)
        _positions_write(portfolio, plan)
        currencies = {planned.currency for planned in plan.created}
        pairs = fx_pairs_lacking(currencies=currencies, base_currency=portfolio.base_currency)
        transaction.on_commit(lambda: portfolio_revalue_request(portfolio_id=portfolio_id))
        if pairs:
            transaction.on_commit(lambda: assets_lookup_queue(symbols=pairs))
    return plan


def _positions_write(portfolio: Portfolio, plan: ImportPlan) -> None:
    now = timezone.now()
    changed = [
        Position(pk=p.position_id, quantity=p.quantity, cost_basis=p.cost_basis, updated_at=now)
        for p in plan.changed
    ]
    Position.objects.bulk_update(
        changed, ["quantity", "cost_basis", "updated_at"], batch_size=BATCH_SIZE
    )
    created = [
        Position(
            portfolio=portfolio, asset_id=p.asset_id, quantity=p.quantity, cost_basis=p.cost_basis
        )
        for p in plan.created
    ]
    Position.objects.bulk_create(created, batch_size=BATCH_SIZE)
