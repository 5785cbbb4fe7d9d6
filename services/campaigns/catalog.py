"""The campaigns in the snapshot, with how many customers each assigned to a variant."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from services.analytics.warehouse import Warehouse


@dataclass(frozen=True)
class CampaignInfo:
    campaign_id: int
    name: str
    kind: str
    discount_pct: float | None
    starts_on: dt.date
    ends_on: dt.date
    cost: float
    planned_treatment_share: float | None  # None: an even split is planned
    description: str
    assigned: int  # customers with an assignment, before any filter

    @property
    def randomised(self) -> bool:
        return self.assigned > 0


_QUERY = """
SELECT c.campaign_id, c.name, c.kind, c.discount_pct, c.starts_on, c.ends_on, c.cost, c.planned_treatment_share,
       coalesce(c.description, ''), (SELECT count(DISTINCT a.customer_id) FROM campaign_assignments a
                                     WHERE a.campaign_id = c.campaign_id)
FROM campaigns c {where} ORDER BY c.starts_on DESC, c.campaign_id
"""


def campaigns(warehouse: Warehouse) -> list[CampaignInfo]:
    """Every campaign, the latest first."""
    return [_info(row) for row in warehouse.snapshot.execute(_QUERY.format(where="")).fetchall()]


def campaign(warehouse: Warehouse, campaign_id: int) -> CampaignInfo | None:
    row = warehouse.row(_QUERY.format(where="WHERE c.campaign_id = $id"), {"id": int(campaign_id)})
    return _info(row) if row else None


def _info(row: tuple) -> CampaignInfo:
    (campaign_id, name, kind, discount, starts, ends, cost, share, description, assigned) = row
    return CampaignInfo(int(campaign_id), name, kind, _number(discount), starts, ends, float(cost or 0.0),
                        _number(share), description, int(assigned))


def _number(value) -> float | None:
    return None if value is None or value != value else float(value)
