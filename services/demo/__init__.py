"""Deterministic demo data: a retailer with four years of orders, coupons, campaigns and surveys.

`generate_demo_data(engine, DemoConfig(...))` writes branches, campaigns, coupons, customers,
transactions, coupon events, campaign assignments and survey responses straight into an
empty database, customer batch by customer batch, so a million customers fit in bounded
memory. The same configuration always produces the same rows. It does not build
`customer_summary`; run `services.refresh.refresh(engine)` afterwards.

The data tells stories the product should be able to find again:

- customers average about 43 years (birth dates, judged on the reference date, the last
  order day 2023-12-31), about 71% have children, the United States lead ahead of Australia;
- orders run from 2020-01-01 to 2023-12-31 with a November-December peak (Black Friday
  and the run-up to Christmas) and busier weekends; customers aged 41-60 spend the most,
  61-70 the least of the decade brackets 21-30..61-70;
- purchase rhythms make the profile rules produce Loyal (the largest revenue share),
  Periodic (orders in three or four calendar years, one or two a year), a few VIPs, and
  One-time, New and Occasional customers; five named top buyers spend far more than anyone;
- a coupon funnel (issued -> claimed -> burned, or expired) across branches, two of which
  see many claims and few burns;
- a "20% discount A/B test": active customers are randomised 50/50 in pairs of similar
  purchase rates; in the window treatment customers buy about 15% more often, at a lower
  profit per sale; plus a holiday e-mail campaign (with a 10% holdout) and a loyalty
  programme with its own coupon;
- four behavioural groups (about half the customers) that K-means on the clustering lab's default
  features (`services.segmentation.defaults`) separates from each other and from the mainstream;
- NPS answers that follow behaviour (loyal customers score higher than one-time buyers).

Where the truths are recorded: the returned `PlantedTruths`, and in the data itself so they
survive the process: every customer's `attributes` JSON carries its behavioural group as
``{"demo_group": "<group>"}`` (``"mainstream"`` when it belongs to none) and the top buyers
also ``"demo_top_buyer": true``; the A/B test is the campaign of kind ``ab_test`` whose
description states the plan. `planted_groups(engine)` reads the groups back.

Modules: `plan` (the story's numbers), `catalog` and `groups` (what is drawn from),
`calendar`, `customers`, `assignments`, `segments` and `orders`, `coupons`, `surveys`
(one generator each), `fixed_tables`, and `generate` (the run).
"""
from services.demo.config import MIN_CUSTOMERS, DemoConfig, PlantedTruths
from services.demo.generate import generate_demo_data, planted_groups
from services.demo.plan import GROUP_ATTRIBUTE, MAINSTREAM, TOP_BUYER_ATTRIBUTE

__all__ = [
    "GROUP_ATTRIBUTE",
    "MAINSTREAM",
    "MIN_CUSTOMERS",
    "TOP_BUYER_ATTRIBUTE",
    "DemoConfig",
    "PlantedTruths",
    "generate_demo_data",
    "planted_groups",
]
