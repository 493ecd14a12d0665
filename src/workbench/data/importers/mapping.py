"""Mappings: how the columns and values of an export become the model's fields.

A mapping is a small YAML file (the packaged ones live in ``workbench/mappings/``)::

    name: my_erp
    encoding: auto              # or gb18030, utf-8, ...
    timezone: Asia/Shanghai     # time zone of times written without an offset
    currency: CNY               # currency when no column gives it
    channel: tmall              # channel when no column gives it
    status: completed           # status when no column gives it (optional)
    customer_ids: pseudonymise  # or keep (keep only ids that are not personal data)
    amounts: auto               # per_order, per_line or auto (see ORDER_AMOUNTS)
    promise_days: 3             # delivery promise (days after shipping) for shipments.promised_at
    warehouse: 未注明            # warehouse of shipments when no column gives it
    order_ids: required         # or derive: rows of one customer at one time form an order
    date_format: auto           # or a strptime format such as "%d/%m/%Y %H:%M"
    columns:                    # export header -> field; several headers may feed one field,
      订单编号: order_id         #   tried per row in the order listed
      收货人姓名: pii            # personal data: dropped, listed in the report
    values:                     # value maps, applied after trimming and lower-casing
      status: {交易成功: completed, 交易关闭: cancelled, 等待买家付款: drop}
      channel: {天猫: tmall}
    fx_rates: {USD: 7.2}        # fixed rates, CNY per unit (optional)

Headers are matched ignoring case, blanks, underscores, hyphens and brackets, so
``Customer ID``, ``customer_id`` and ``CustomerID`` are one header.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path

import yaml

from workbench.data import schema
from workbench.errors import DataError

#: The fields a mapping can fill, with what each means (shown by --suggest and in errors).
FIELDS: dict[str, str] = {
    "order_id": "order number (rows sharing it are the lines of one order)",
    "customer_id": "buyer identifier (member name, e-mail, customer number); pseudonymised",
    "ordered_at": "payment time of the order",
    "created_at": "creation time of the order (used where the payment time is empty)",
    "status": "order status (mapped to paid, shipped, completed, cancelled, refunded)",
    "channel": "sales channel (mapped to the model's channels)",
    "currency": "ISO currency code of the amounts",
    "paid_amount": "amount the buyer paid for the order (GMV)",
    "gross_amount": "value of the items before discounts",
    "goods_amount": "value of the items before shipping (after the discounts of a discount column, if any)",
    "discount_amount": "discounts and coupons of the order",
    "shipping_fee": "shipping charged to the buyer",
    "platform_fee": "fees kept by the platform",
    "refund_amount": "amount refunded (becomes a row of returns)",
    "coupon_code": "coupon or discount code",
    "country": "destination country",
    "region": "destination province or region",
    "city": "destination city",
    "product_id": "SKU or merchant code of the item",
    "product_name": "item title",
    "category": "product category",
    "quantity": "units of the item",
    "unit_price": "price per unit actually charged",
    "list_price": "list price per unit",
    "line_amount": "value of the row (quantity x price)",
    "line_discount": "discount on the row",
    "carrier": "carrier of the parcel (物流公司, 快递公司): with a shipping time, becomes shipments",
    "shipped_at": "time the order was handed to the carrier (发货时间)",
    "received_at": "time the buyer confirmed receipt (确认收货时间): the delivery time of shipments",
    "updated_at": "time of the order's last status change (refund, close, completion); orders the shop "
                  "re-imports are ordered by it",
    "address": "postal address (personal data: dropped; province and city kept)",
    "pii": "personal data (name, phone, e-mail, notes): dropped",
    "ignore": "not used",
}

#: Fields read as money.
AMOUNT_FIELDS = ("paid_amount", "gross_amount", "goods_amount", "discount_amount", "shipping_fee",
                 "platform_fee", "refund_amount", "unit_price", "list_price", "line_amount", "line_discount")
#: Order amounts that an item-per-row export may repeat, leave blank or split over the lines.
ORDER_AMOUNTS = ("paid_amount", "gross_amount", "goods_amount", "discount_amount", "shipping_fee",
                 "platform_fee", "refund_amount")

MAPPINGS_PACKAGE = "workbench.data.mappings"
KINDS = ("taobao", "pinduoduo", "douyin", "shopify", "transactions")


def norm_header(name: str) -> str:
    """A header as compared: lower case, without blanks, underscores, hyphens, dots and brackets."""
    return re.sub(r"[\s_\-\.\(\)（）\[\]【】:：/]+", "", str(name)).lower().lstrip("\ufeff")


def norm_value(value: str) -> str:
    """A value as compared with a value map: lower case, without blanks and common punctuation."""
    return re.sub(r"[\s,，。:：;；()（）\-_]+", "", str(value)).lower()


@dataclass(frozen=True)
class Mapping:
    """A parsed mapping (see the module docstring for the YAML)."""

    name: str
    columns: dict[str, str]
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    #: headers of a second file with one row per item (Taobao's 宝贝报表), joined on the order id
    items: dict[str, str] = field(default_factory=dict)
    description: str = ""
    encoding: str = "auto"
    timezone: str = schema.DEFAULT_TIMEZONE
    currency: str = schema.REPORTING_CURRENCY
    channel: str | None = None
    status: str | None = None
    customer_ids: str = "pseudonymise"
    amounts: str = "auto"
    date_format: str = "auto"
    order_ids: str = "required"
    fx_rates: dict[str, float] = field(default_factory=dict)
    promise_days: float | None = None
    warehouse: str = "unspecified"
    source: str = ""
    origin: str = ""
    #: the settings the YAML gave explicitly (an overlay changes only these)
    given: tuple[str, ...] = ()

    def headers_for(self, field_name: str) -> list[str]:
        return [h for h, f in self.columns.items() if f == field_name]

    def overlay(self, other: Mapping) -> Mapping:
        """This mapping with ``other``'s settings on top (columns and value maps are merged)."""
        cols = {**self.columns, **other.columns}
        items = {**self.items, **other.items}
        vals = {k: {**self.values.get(k, {}), **other.values.get(k, {})}
                for k in set(self.values) | set(other.values)}
        kw = {k: getattr(other, k) for k in other.given}
        return replace(self, columns=cols, values=vals, items=items, fx_rates={**self.fx_rates, **other.fx_rates},
                       origin=f"{self.origin} + {other.origin}", **kw)


_SETTINGS = ("name", "description", "encoding", "timezone", "currency", "channel", "status", "customer_ids",
             "amounts", "date_format", "order_ids", "promise_days", "warehouse", "source")


def parse_mapping(data: dict, origin: str) -> Mapping:
    """Check a mapping read from YAML and return it; raises :class:`DataError` naming the fault and the fix."""
    if not isinstance(data, dict):
        raise DataError(f"{origin}: a mapping must be a YAML dictionary with at least `columns:`; "
                        "make one with `workbench import --suggest FILE`")
    unknown = set(data) - set(_SETTINGS) - {"columns", "values", "fx_rates", "items"}
    if unknown:
        raise DataError(f"{origin}: unknown key(s) {', '.join(sorted(unknown))}; allowed: "
                        f"{', '.join(_SETTINGS + ('columns', 'values', 'fx_rates', 'items'))}")
    columns = data.get("columns") or {}
    if not isinstance(columns, dict):
        raise DataError(f"{origin}: `columns` must map export headers to fields, e.g. `订单编号: order_id`")
    columns = {str(k): str(v).strip() for k, v in columns.items()}
    bad = {h: f for h, f in columns.items() if f not in FIELDS}
    if bad:
        h, f = next(iter(bad.items()))
        raise DataError(f"{origin}: column '{h}' is mapped to unknown field '{f}'; fields are: "
                        f"{', '.join(FIELDS)}")
    items = data.get("items") or {}
    if not isinstance(items, dict):
        raise DataError(f"{origin}: `items` must map the item report's headers to fields, e.g. `商家编码: product_id`")
    items = {str(k): str(v).strip() for k, v in items.items()}
    bad = {h: f for h, f in items.items() if f not in FIELDS}
    if bad:
        h, f = next(iter(bad.items()))
        raise DataError(f"{origin}: items column '{h}' is mapped to unknown field '{f}'; fields are: {', '.join(FIELDS)}")
    if items and "order_id" not in items.values():
        raise DataError(f"{origin}: `items` must name the item report's order number column (`订单编号: order_id`), "
                        "on which its rows are joined to the orders")
    values = data.get("values") or {}
    if not isinstance(values, dict) or any(k not in ("status", "channel") for k in values):
        raise DataError(f"{origin}: `values` may hold the value maps `status:` and `channel:` only")
    values = {k: {norm_value(a): str(b).strip().lower() for a, b in (v or {}).items()} for k, v in values.items()}
    for target, allowed in (("status", schema.ORDER_STATUSES), ("channel", schema.CHANNELS)):
        wrong = sorted({b for b in values.get(target, {}).values() if b not in allowed and b != "drop"})
        if wrong:
            raise DataError(f"{origin}: values.{target} maps to {', '.join(wrong)}, which the model does not know; "
                            f"use one of {', '.join(allowed)} (or drop, to leave such rows out)")
    for key, allowed in (("channel", schema.CHANNELS), ("status", schema.ORDER_STATUSES)):
        if data.get(key) is not None and str(data[key]).lower() not in allowed:
            raise DataError(f"{origin}: {key}: {data[key]!r} is not one of {', '.join(allowed)}")
    if str(data.get("customer_ids", "pseudonymise")) not in ("pseudonymise", "keep"):
        raise DataError(f"{origin}: customer_ids must be pseudonymise or keep")
    if str(data.get("order_ids", "required")) not in ("required", "derive"):
        raise DataError(f"{origin}: order_ids must be required (a column gives them) or derive "
                        "(rows of one customer at one time form an order)")
    if str(data.get("amounts", "auto")) not in ("auto", "per_order", "per_line"):
        raise DataError(f"{origin}: amounts must be auto, per_order or per_line")
    fx = data.get("fx_rates") or {}
    try:
        fx = {str(k).upper(): float(v) for k, v in fx.items()}
    except (TypeError, ValueError, AttributeError):
        raise DataError(f"{origin}: fx_rates must map currency codes to CNY per unit, e.g. `USD: 7.2`") from None
    if data.get("promise_days") is not None:
        try:
            if not 0 < float(data["promise_days"]) < 365:
                raise ValueError
        except (TypeError, ValueError):
            raise DataError(f"{origin}: promise_days must be the number of days after shipping that delivery is "
                            f"promised, e.g. `promise_days: 3` (got {data['promise_days']!r})") from None
    kw = {k: (str(data[k]).lower() if k in ("channel", "status") else
              float(data[k]) if k == "promise_days" else str(data[k]))
          for k in _SETTINGS if data.get(k) is not None}
    kw.setdefault("name", Path(origin).stem)
    given = tuple(k for k in _SETTINGS if data.get(k) is not None)
    return Mapping(columns=columns, values=values, items=items, fx_rates=fx, origin=origin, given=given, **kw)


#: Example mappings for the generic importer, shipped as ``mappings/generic_<name>.yaml``.
GENERIC_EXAMPLES = ("jd",)


def read_mapping(path: str | Path) -> Mapping:
    """Read and check a mapping YAML file (or a shipped example by name: ``jd``)."""
    p = Path(path).expanduser()
    if not p.exists() and str(path) in GENERIC_EXAMPLES:
        return parse_mapping(yaml.safe_load(_packaged_text(f"generic_{path}")), f"generic_{path}.yaml")
    if not p.exists():
        raise DataError(f"{p}: no such mapping file; make one with `workbench import --suggest YOUR_EXPORT > {p.name}`")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DataError(f"{p.name}: not valid YAML ({str(exc).splitlines()[0]}); check indentation and colons") from None
    return parse_mapping(data, p.name)


@cache
def _packaged_text(name: str) -> str:
    return resources.files(MAPPINGS_PACKAGE).joinpath(f"{name}.yaml").read_text(encoding="utf-8")


def packaged(kind: str) -> Mapping:
    """The packaged mapping of an importer kind (taobao, pinduoduo, douyin, shopify, transactions)."""
    if kind not in KINDS:
        raise DataError(f"unknown import kind {kind!r}; use one of {', '.join(KINDS + ('generic',))}")
    return parse_mapping(yaml.safe_load(_packaged_text(kind)), f"{kind}.yaml")


def alias_table() -> dict[str, str]:
    """Normalised header -> field, from the packaged mappings and aliases.yaml (first definition wins)."""
    table: dict[str, str] = {}
    for kind in ("taobao", "pinduoduo", "douyin", "shopify"):
        for h, f in packaged(kind).columns.items():
            table.setdefault(norm_header(h), f)
    for f, names in yaml.safe_load(_packaged_text("aliases")).items():
        for h in names:
            table.setdefault(norm_header(h), f)
    for h, f in packaged("transactions").columns.items():
        table.setdefault(norm_header(h), f)
    return table


def status_table() -> dict[str, str]:
    """Every status value the packaged mappings know, normalised, with its model status."""
    out: dict[str, str] = {s: s for s in schema.ORDER_STATUSES}
    for kind in KINDS:
        out.update(packaged(kind).values.get("status", {}))
    out.update({"completed": "completed", "complete": "completed", "closed": "cancelled",
                "canceled": "cancelled", "shipped": "shipped", "fulfilled": "shipped", "returned": "refunded"})
    return out


CHANNEL_WORDS = {
    "tmall": "tmall", "天猫": "tmall", "淘宝": "tmall", "taobao": "tmall", "jd": "jd", "京东": "jd",
    "pinduoduo": "pinduoduo", "拼多多": "pinduoduo", "pdd": "pinduoduo", "douyin": "douyin", "抖音": "douyin",
    "wechat": "wechat_mini", "微信": "wechat_mini", "小程序": "wechat_mini", "wechatmini": "wechat_mini",
    "offline": "offline_store", "门店": "offline_store", "线下": "offline_store", "store": "offline_store",
    "pos": "offline_store", "crossborder": "cross_border", "跨境": "cross_border", "shopify": "cross_border",
    "web": "cross_border", "online": "cross_border",
}
