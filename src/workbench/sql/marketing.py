"""Queries of the marketing page (``03_marketing``); every value a bound parameter.

Spend rows carry the sales ``channel`` they drive, so the page's channel filter applies to them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from workbench.sql import engine
from workbench.sql.filters import Filters
from workbench.sql.products import channels_condition

if TYPE_CHECKING:
    from workbench.data.loader import Dataset

GRAINS = ("day", "week", "month")


def channel_totals(ds: Dataset, f: Filters, has_orders: bool, has_gmv: bool) -> pd.DataFrame:
    """Per marketing channel in the period: ``marketing_channel``, ``spend_cny``, ``impressions``, ``clicks``,
    ``attributed_orders``, ``attributed_gmv_cny`` (NULL when the platform's attribution is absent)."""
    cond, params = f.bind("date", "channel")
    att_o = "sum(attributed_orders)" if has_orders else "CAST(NULL AS DOUBLE)"
    att_g = "sum(attributed_gmv_cny)" if has_gmv else "CAST(NULL AS DOUBLE)"
    return engine.query(ds, f"""
        SELECT marketing_channel, sum(spend_cny) AS spend_cny, sum(impressions) AS impressions, sum(clicks) AS clicks,
               {att_o} AS attributed_orders, {att_g} AS attributed_gmv_cny
        FROM marketing_spend WHERE {cond} GROUP BY 1 ORDER BY spend_cny DESC, 1""", params)


def spend_by(ds: Dataset, f: Filters, grain: str, has_gmv: bool) -> pd.DataFrame:
    """Spend (CNY), clicks and attributed GMV per ``grain`` (day/week/month, a column of that name) and channel."""
    g = engine.identifier(grain, GRAINS)
    cond, params = f.bind("date", "channel")
    att_g = "sum(attributed_gmv_cny)" if has_gmv else "CAST(NULL AS DOUBLE)"
    return engine.query(ds, f"""
        SELECT CAST(date_trunc('{g}', date) AS DATE) AS {g}, marketing_channel, sum(spend_cny) AS spend_cny,
               sum(clicks) AS clicks, {att_g} AS attributed_gmv_cny
        FROM marketing_spend WHERE {cond} GROUP BY 1, 2 ORDER BY 1, 2""", params)


def daily_orders(ds: Dataset, channels: tuple[str, ...], exclude_livestream: bool) -> pd.DataFrame:
    """GMV (CNY) and number of valid orders per day of ``channels`` (all when empty): ``date``, ``gmv``, ``orders``."""
    cond, params = channels_condition(channels, "channel")
    src = "(source IS NULL OR source <> $src)" if exclude_livestream else "TRUE"
    if exclude_livestream:
        params["src"] = "livestream"
    return engine.query(ds, f"""SELECT order_date AS date, sum(gmv_cny) AS gmv, count(*) AS orders FROM orders_cny
                                WHERE is_valid AND {cond} AND {src} GROUP BY 1 ORDER BY 1""", params)


def daily_spend(ds: Dataset, channels: tuple[str, ...]) -> pd.DataFrame:
    """Spend (CNY) per day and marketing channel that drives ``channels``: ``date``, ``marketing_channel``, ``spend``."""
    cond, params = channels_condition(channels, "channel")
    return engine.query(ds, f"""SELECT date, marketing_channel, sum(spend_cny) AS spend FROM marketing_spend
                                WHERE {cond} GROUP BY 1, 2 ORDER BY 1, 2""", params)
