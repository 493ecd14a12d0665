"""Labels in Chinese and English: channel names, metric names and short phrases.

``label(key, lang)`` returns the label of a value or metric; unknown keys come back
unchanged, so a new value shows as itself instead of failing.
"""

from __future__ import annotations

LABELS: dict[str, tuple[str, str]] = {
    # channels (zh, en)
    "tmall": ("天猫", "Tmall"),
    "jd": ("京东", "JD"),
    "pinduoduo": ("拼多多", "Pinduoduo"),
    "douyin": ("抖音直播", "Douyin live"),
    "wechat_mini": ("微信小程序", "WeChat mini-program"),
    "offline_store": ("线下门店", "Offline stores"),
    "cross_border": ("跨境", "Cross-border"),
    # traffic sources
    "organic_search": ("自然搜索", "Organic search"),
    "paid_search": ("付费搜索", "Paid search"),
    "social": ("社交", "Social"),
    "content": ("内容", "Content"),
    "livestream": ("直播", "Livestream"),
    "direct": ("直接访问", "Direct"),
    "private_traffic": ("私域", "Private traffic"),
    "search_ads": ("搜索广告", "Search ads"),
    "display": ("展示广告", "Display"),
    "affiliate": ("联盟推广", "Affiliate"),
    # metrics
    "gmv": ("成交额 (GMV, 元)", "GMV (CNY)"),
    "orders": ("订单数", "Orders"),
    "buyers": ("买家数", "Buyers"),
    "new_buyers": ("新买家", "New buyers"),
    "returning_buyers": ("老买家", "Returning buyers"),
    "aov": ("客单价 (元)", "Average order value (CNY)"),
    "units": ("销量 (件)", "Units"),
    "refund_rate": ("退款率", "Refund rate"),
    "sessions": ("访客数", "Sessions"),
    "product_views": ("商品浏览", "Product views"),
    "add_to_cart": ("加购", "Add to cart"),
    "checkouts": ("下单", "Checkouts"),
    "paid_orders": ("支付", "Paid"),
    "conversion": ("转化率", "Conversion rate"),
    "date": ("日期", "Date"),
    "channel": ("渠道", "Channel"),
    "source": ("流量来源", "Traffic source"),
    "region": ("地区", "Region"),
    "category": ("品类", "Category"),
    "change": ("变化", "Change"),
    "current": ("本期", "This period"),
    "comparison": ("对比期", "Comparison period"),
    "previous": ("上一周期", "previous period"),
    "last_year": ("去年同期", "same period last year"),
    "none": ("不对比", "no comparison"),
    "all": ("全部渠道", "all channels"),
    "period": ("周期", "Period"),
    "findings": ("主要发现", "Findings"),
    "skipped": ("已跳过", "Skipped"),
    "start": ("开始", "Start"),
    "end": ("结束", "End"),
    "compare": ("对比", "Compare with"),
    "channels": ("渠道", "Channels"),
}


def register(labels: dict[str, tuple[str, str]]) -> None:
    """Add labels (key -> (zh, en)) for a topic's own values and metrics."""
    for key, pair in labels.items():
        LABELS.setdefault(key, pair)


def label(key: object, lang: str = "zh") -> str:
    """The label of ``key`` in ``lang`` (zh or en); the key itself when there is none."""
    pair = LABELS.get(str(key))
    if pair is None:
        return str(key)
    return pair[0] if lang == "zh" else pair[1]


def pick(lang: str, en: str, zh: str) -> str:
    """Choose the English or Chinese text."""
    return zh if lang == "zh" else en
