"""Callback registration: one module per tab (or part of a tab) plus the shell, each with `register(app, ...)`."""
from __future__ import annotations

from callbacks import campaigns, campaigns_seasonality, coupons, performance, segmentation_assign, segmentation_lab, segmentation_rfm, segmentation_segments, shell, value, value_training


def register_all(app, context, jobs) -> None:
    """`context`: the request's accessors; `jobs`: what background jobs open their own connections from."""
    shell.register(app, context)
    performance.register(app, context)
    value.register(app, context)
    value_training.register(app, jobs)
    segmentation_rfm.register(app, context)
    segmentation_lab.register(app, context, jobs)
    segmentation_segments.register(app, context)
    segmentation_assign.register(app, context)
    coupons.register(app, context)
    campaigns.register(app, context)
    campaigns_seasonality.register(app, context)
