"""The canonical data model: every table of a shop, defined once.

Each :class:`Table` lists its columns with a logical type, whether the column is
required, which values are allowed, and which columns form the key or point at
another table. The loader validates against these definitions, the sample
generator writes them, and ``workbench dictionary`` renders them as the data
dictionary in ``docs/data-dictionary.md``.

Logical types:

``string``     text; ``category`` is text with a small set of values
``int``        whole number
``float``      decimal number (money columns say their currency in the name or
               in a ``currency`` column of the same table)
``bool``       true/false
``date``       calendar date (no time zone)
``timestamp``  date and time; stored with a time zone, Asia/Shanghai by default
"""

from __future__ import annotations

from dataclasses import dataclass, field

REPORTING_CURRENCY = "CNY"
DEFAULT_TIMEZONE = "Asia/Shanghai"

#: Sales channels (where an order was placed).
CHANNELS: tuple[str, ...] = (
    "tmall",
    "jd",
    "pinduoduo",
    "douyin",
    "wechat_mini",
    "offline_store",
    "cross_border",
)

#: Marketing channels (where money is spent to bring traffic).
MARKETING_CHANNELS: tuple[str, ...] = (
    "search_ads",
    "social",
    "content",
    "display",
    "livestream",
    "affiliate",
)

#: Traffic sources in the funnel table.
TRAFFIC_SOURCES: tuple[str, ...] = (
    "organic_search",
    "paid_search",
    "social",
    "content",
    "livestream",
    "direct",
    "private_traffic",
)

ORDER_STATUSES: tuple[str, ...] = ("paid", "shipped", "completed", "cancelled", "refunded")
FULFILMENT_TYPES: tuple[str, ...] = ("delivery", "pickup_in_store", "ship_from_store", "in_store")
CAMPAIGN_KINDS: tuple[str, ...] = (
    "618",
    "double_11",
    "double_12",
    "chinese_new_year",
    "womens_day",
    "brand_day",
)
MEMBER_TIERS: tuple[str, ...] = ("none", "silver", "gold", "platinum")
SHIPMENT_STATUSES: tuple[str, ...] = ("in_transit", "delivered", "lost", "damaged")
RETURN_REASONS: tuple[str, ...] = (
    "defect",
    "wrong_size",
    "not_as_described",
    "late_delivery",
    "changed_mind",
    "damaged_in_transit",
    "other",
)
TICKET_CATEGORIES: tuple[str, ...] = (
    "pre_sale",
    "order_status",
    "delivery",
    "return_refund",
    "product_quality",
    "invoice",
    "account",
)
LANGUAGES: tuple[str, ...] = ("zh", "en")
ORDER_SOURCES: tuple[str, ...] = (
    "organic",
    "paid_search",
    "social",
    "content",
    "livestream",
    "private_traffic",
    "referral",
    "in_store",
)

LOGICAL_TYPES = ("string", "category", "int", "float", "bool", "date", "timestamp")


@dataclass(frozen=True)
class Column:
    """One column of a table.

    ``allowed`` restricts the values of a ``category`` column; ``minimum``
    restricts numbers (for example no negative quantities); ``references`` names
    ``"table.column"`` that every non-null value must exist in; ``pii`` marks
    personal data that is never shown in a report or dashboard.
    """

    name: str
    dtype: str
    description: str
    required: bool = True
    nullable: bool = False
    allowed: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    references: str | None = None
    pii: bool = False

    def __post_init__(self) -> None:
        if self.dtype not in LOGICAL_TYPES:
            raise ValueError(f"column {self.name}: unknown logical type {self.dtype!r}")


@dataclass(frozen=True)
class Table:
    """One table of the model: its columns, its key and what it is for."""

    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    #: the column that places a row in time (used for period filters), if any
    time_column: str | None = None
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def column(self, name: str) -> Column:
        """Return the column called ``name``; ``KeyError`` when there is none."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"table {self.name} has no column {name!r}")

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def pii_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.pii]


def _c(name: str, dtype: str, description: str, **kw) -> Column:
    return Column(name=name, dtype=dtype, description=description, **kw)


def _opt(name: str, dtype: str, description: str, **kw) -> Column:
    kw.setdefault("nullable", True)
    return Column(name=name, dtype=dtype, description=description, required=False, **kw)


TABLES: dict[str, Table] = {}


def _table(table: Table) -> Table:
    TABLES[table.name] = table
    return table


_table(Table(
    "customers",
    "One row per customer. Personal data columns are optional and never shown in reports.",
    (
        _c("customer_id", "string", "Stable customer identifier (a pseudonym is fine)."),
        _c("signup_date", "date", "Date the customer first registered or first bought."),
        _c("acquisition_channel", "category", "Sales channel of the first purchase.", allowed=CHANNELS),
        _opt("region", "string", "Region of China or destination country (East, North, ..., or ISO code)."),
        _opt("city", "string", "City."),
        _opt("gender", "category", "Gender as recorded by the platform.", allowed=("f", "m", "unknown")),
        _opt("birth_year", "int", "Year of birth.", minimum=1900, maximum=2025),
        _opt("member_tier", "category", "Membership tier.", allowed=MEMBER_TIERS),
        _opt("name", "string", "Customer name (personal data).", pii=True),
        _opt("phone", "string", "Phone number (personal data).", pii=True),
        _opt("address", "string", "Postal address (personal data).", pii=True),
    ),
    key=("customer_id",),
    time_column="signup_date",
))

_table(Table(
    "products",
    "One row per product (SKU), with its listing attributes.",
    (
        _c("product_id", "string", "Product identifier (SKU)."),
        _c("category", "string", "Product category."),
        _opt("name", "string", "Product title as listed."),
        _c("list_price_cny", "float", "Regular (list) price in CNY.", minimum=0),
        _opt("unit_cost_cny", "float", "Landed unit cost in CNY.", minimum=0),
        _opt("launch_date", "date", "First day on sale."),
        _opt("supplier", "string", "Supplier or factory."),
        _opt("title_length", "int", "Characters in the listing title.", minimum=0),
        _opt("image_count", "int", "Number of listing images.", minimum=0),
        _opt("has_video", "bool", "Whether the listing has a video."),
        _opt("description_length", "int", "Characters in the detail page text.", minimum=0),
    ),
    key=("product_id",),
    time_column="launch_date",
))

_table(Table(
    "orders",
    "One row per order. Amounts are in the order's currency; fx_rates converts them to CNY.",
    (
        _c("order_id", "string", "Order identifier, unique across channels."),
        _c("customer_id", "string", "Buyer.", references="customers.customer_id"),
        _c("channel", "category", "Sales channel.", allowed=CHANNELS),
        _c("ordered_at", "timestamp", "When the order was placed (paid)."),
        _c("status", "category", "Order status.", allowed=ORDER_STATUSES),
        _c("currency", "string", "ISO currency code of the amounts."),
        _c("gross_amount", "float", "List value of the items before discounts, order currency.", minimum=0),
        _c("discount_amount", "float", "Discounts and coupons, order currency.", minimum=0),
        _c("paid_amount", "float", "Amount paid by the buyer (GMV), order currency.", minimum=0),
        _opt("shipping_fee", "float", "Shipping charged to the buyer, order currency.", minimum=0),
        _opt("platform_fee", "float", "Commission and fees kept by the platform, order currency.", minimum=0),
        _opt("source", "category", "How the buyer arrived.", allowed=ORDER_SOURCES),
        _opt("fulfilment", "category", "Delivery, pick up in store, ship from store or bought in store.",
             allowed=FULFILMENT_TYPES),
        _opt("store_id", "string", "Store for online-offline orders.", references="stores.store_id"),
        _opt("country", "string", "Destination country (ISO 3166 alpha-2); CN for domestic."),
        _opt("region", "string", "Destination region."),
        _opt("city", "string", "Destination city."),
        _opt("campaign_id", "string", "Campaign the order was placed in.", references="campaigns.campaign_id"),
        _opt("livestream_id", "string", "Livestream the order is attributed to.",
             references="livestreams.livestream_id"),
        _opt("kol_id", "string", "KOL the order is attributed to.", references="kols.kol_id"),
        _opt("coupon_code", "string", "Coupon used, if any."),
        _opt("referrer_customer_id", "string", "Customer whose share brought this order.",
             references="customers.customer_id"),
    ),
    key=("order_id",),
    time_column="ordered_at",
))

_table(Table(
    "order_items",
    "One row per order line.",
    (
        _c("order_id", "string", "Order.", references="orders.order_id"),
        _c("line_no", "int", "Line number within the order, from 1.", minimum=1),
        _c("product_id", "string", "Product.", references="products.product_id"),
        _c("quantity", "int", "Units.", minimum=1),
        _c("unit_price", "float", "Price per unit actually charged, order currency.", minimum=0),
        _opt("list_price", "float", "List price per unit, order currency.", minimum=0),
    ),
    key=("order_id", "line_no"),
))

_table(Table(
    "traffic",
    "Daily funnel by sales channel and traffic source.",
    (
        _c("date", "date", "Day."),
        _c("channel", "category", "Sales channel.", allowed=CHANNELS),
        _c("source", "category", "Traffic source.", allowed=TRAFFIC_SOURCES),
        _c("sessions", "int", "Visits.", minimum=0),
        _c("product_views", "int", "Visits that viewed a product page.", minimum=0),
        _c("add_to_cart", "int", "Visits that added to cart.", minimum=0),
        _c("checkouts", "int", "Visits that started checkout.", minimum=0),
        _c("paid_orders", "int", "Visits that paid.", minimum=0),
    ),
    key=("date", "channel", "source"),
    time_column="date",
))

_table(Table(
    "marketing_spend",
    "Daily spend and delivery by marketing channel, sales channel and campaign.",
    (
        _c("date", "date", "Day."),
        _c("marketing_channel", "category", "Where the money went.", allowed=MARKETING_CHANNELS),
        _c("channel", "category", "Sales channel the spend drives.", allowed=CHANNELS),
        _opt("campaign_id", "string", "Campaign, if the spend belongs to one.", references="campaigns.campaign_id"),
        _c("spend_cny", "float", "Spend in CNY.", minimum=0),
        _c("impressions", "int", "Ad impressions.", minimum=0),
        _c("clicks", "int", "Clicks.", minimum=0),
        _opt("attributed_orders", "int", "Orders the ad platform attributes to the spend.", minimum=0),
        _opt("attributed_gmv_cny", "float", "GMV the ad platform attributes to the spend, CNY.", minimum=0),
    ),
    key=("date", "marketing_channel", "channel"),
    time_column="date",
))

_table(Table(
    "campaigns",
    "Holiday and brand events.",
    (
        _c("campaign_id", "string", "Campaign identifier."),
        _c("name", "string", "Campaign name."),
        _c("kind", "category", "Kind of event.", allowed=CAMPAIGN_KINDS),
        _c("start_date", "date", "First day (including pre-sale)."),
        _c("end_date", "date", "Last day."),
        _opt("discount_rate", "float", "Typical discount off list price during the event.", minimum=0, maximum=1),
        _opt("budget_cny", "float", "Marketing budget, CNY.", minimum=0),
    ),
    key=("campaign_id",),
    time_column="start_date",
))

_table(Table(
    "kols",
    "Key opinion leaders (influencers) the brand works with.",
    (
        _c("kol_id", "string", "KOL identifier."),
        _c("handle", "string", "Public handle."),
        _c("platform", "category", "Where the KOL broadcasts.", allowed=CHANNELS),
        _opt("followers", "int", "Followers.", minimum=0),
        _opt("tier", "category", "Size tier.", allowed=("head", "mid", "tail")),
        _opt("commission_rate", "float", "Share of attributed GMV paid as commission.", minimum=0, maximum=1),
    ),
    key=("kol_id",),
))

_table(Table(
    "livestreams",
    "Livestream sessions.",
    (
        _c("livestream_id", "string", "Livestream identifier."),
        _c("kol_id", "string", "Host.", references="kols.kol_id"),
        _c("channel", "category", "Sales channel the stream sells into.", allowed=CHANNELS),
        _c("started_at", "timestamp", "Start."),
        _c("ended_at", "timestamp", "End."),
        _c("viewers", "int", "Unique viewers.", minimum=0),
        _opt("peak_viewers", "int", "Peak concurrent viewers.", minimum=0),
        _c("fee_cny", "float", "Fixed fee paid, CNY.", minimum=0),
    ),
    key=("livestream_id",),
    time_column="started_at",
))

_table(Table(
    "stores",
    "Offline stores (for in-store, pick-up and ship-from-store orders).",
    (
        _c("store_id", "string", "Store identifier."),
        _c("name", "string", "Store name."),
        _c("city", "string", "City."),
        _opt("region", "string", "Region."),
        _opt("opened_date", "date", "Opening day."),
        _opt("area_sqm", "float", "Selling area in square metres.", minimum=0),
    ),
    key=("store_id",),
))

_table(Table(
    "shipments",
    "One row per shipped order.",
    (
        _c("order_id", "string", "Order.", references="orders.order_id"),
        _c("carrier", "string", "Carrier."),
        _c("warehouse", "string", "Shipping warehouse or store."),
        _c("shipped_at", "timestamp", "Handed to the carrier."),
        _c("promised_at", "timestamp", "Delivery promised to the buyer."),
        _opt("delivered_at", "timestamp", "Delivered (empty when lost or in transit)."),
        _c("status", "category", "Outcome.", allowed=SHIPMENT_STATUSES),
        _opt("shipping_cost_cny", "float", "Cost paid to the carrier, CNY.", minimum=0),
        _opt("customs_cleared_at", "timestamp", "Customs clearance, cross-border only."),
        _opt("duty_cny", "float", "Import duty and taxes, CNY, cross-border only.", minimum=0),
    ),
    key=("order_id",),
    time_column="shipped_at",
))

_table(Table(
    "returns",
    "Returns and refunds.",
    (
        _c("return_id", "string", "Return identifier."),
        _c("order_id", "string", "Order.", references="orders.order_id"),
        _opt("product_id", "string", "Product returned.", references="products.product_id"),
        _c("requested_at", "timestamp", "When the buyer asked."),
        _c("reason", "category", "Reason given.", allowed=RETURN_REASONS),
        _c("refund_amount", "float", "Refunded, order currency.", minimum=0),
        _c("currency", "string", "ISO currency of the refund."),
    ),
    key=("return_id",),
    time_column="requested_at",
))

_table(Table(
    "tickets",
    "Customer service tickets.",
    (
        _c("ticket_id", "string", "Ticket identifier."),
        _opt("customer_id", "string", "Customer.", references="customers.customer_id"),
        _opt("order_id", "string", "Order the ticket is about.", references="orders.order_id"),
        _c("channel", "category", "Sales channel the ticket came through.", allowed=CHANNELS),
        _c("category", "category", "What the ticket is about.", allowed=TICKET_CATEGORIES),
        _c("created_at", "timestamp", "Opened."),
        _opt("first_response_at", "timestamp", "First answer by an agent."),
        _opt("resolved_at", "timestamp", "Resolved (empty while open)."),
        _opt("satisfaction", "int", "CSAT score 1-5.", minimum=1, maximum=5),
        _c("escalated", "bool", "Escalated to a supervisor."),
        _opt("agent_id", "string", "Agent."),
    ),
    key=("ticket_id",),
    time_column="created_at",
))

_table(Table(
    "reviews",
    "Product reviews.",
    (
        _c("review_id", "string", "Review identifier."),
        _opt("order_id", "string", "Order reviewed.", references="orders.order_id"),
        _opt("customer_id", "string", "Reviewer.", references="customers.customer_id"),
        _c("product_id", "string", "Product.", references="products.product_id"),
        _opt("channel", "category", "Where the review was left.", allowed=CHANNELS),
        _c("created_at", "timestamp", "Posted."),
        _c("rating", "int", "Stars 1-5.", minimum=1, maximum=5),
        _opt("text", "string", "Review text."),
        _opt("language", "category", "Language of the text.", allowed=LANGUAGES),
    ),
    key=("review_id",),
    time_column="created_at",
))

_table(Table(
    "fx_rates",
    "Daily exchange rates to the reporting currency.",
    (
        _c("date", "date", "Day."),
        _c("currency", "string", "ISO currency code."),
        _c("rate_to_cny", "float", "CNY per one unit of the currency.", minimum=0),
    ),
    key=("date", "currency"),
    time_column="date",
))

_table(Table(
    "inventory",
    "Daily closing stock by product.",
    (
        _c("date", "date", "Day."),
        _c("product_id", "string", "Product.", references="products.product_id"),
        _c("stock_on_hand", "int", "Units in stock at the end of the day.", minimum=0),
        _opt("inbound_units", "int", "Units received that day.", minimum=0),
    ),
    key=("date", "product_id"),
    time_column="date",
))


def table(name: str) -> Table:
    """Return the definition of table ``name``; raises ``KeyError`` listing valid names."""
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"no table {name!r}; the model has: {', '.join(TABLES)}") from None


def data_dictionary_markdown() -> str:
    """Render the whole model as Markdown (the data dictionary)."""
    lines = [
        "# Data dictionary",
        "",
        "Generated from `src/workbench/schema.py` by `workbench dictionary`; do not edit by hand.",
        "",
        f"Reporting currency: {REPORTING_CURRENCY}. Timestamps carry a time zone ({DEFAULT_TIMEZONE} "
        "when a file gives none). A dataset may hold only some tables; each analysis says which it needs.",
        "",
    ]
    for t in TABLES.values():
        lines += [f"## `{t.name}`", "", t.description, "", f"Key: `{', '.join(t.key)}`", ""]
        lines += ["| column | type | required | allowed / range | description |", "|---|---|---|---|---|"]
        for c in t.columns:
            rng = ""
            if c.allowed:
                rng = ", ".join(c.allowed)
            elif c.minimum is not None or c.maximum is not None:
                lo = "" if c.minimum is None else f"≥ {c.minimum:g}"
                hi = "" if c.maximum is None else f"≤ {c.maximum:g}"
                rng = " ".join(x for x in (lo, hi) if x)
            if c.references:
                rng = (rng + " " if rng else "") + f"→ `{c.references}`"
            desc = c.description + (" **Personal data.**" if c.pii else "")
            lines.append(f"| `{c.name}` | {c.dtype} | {'yes' if c.required else 'no'} | {rng} | {desc} |")
        lines.append("")
    return "\n".join(lines)
