"""Deterministic generator of the sample shop, with planted effects.

:func:`generate` writes every table of :data:`workbench.data.schema.TABLES` as
``<out>/<table>.parquet`` plus ``<out>/truth.json`` (the planted effects and how
to recover them). The same ``seed`` and ``scale`` always give byte-identical files.

How the shop is simulated
-------------------------
* Demand. Each sales channel has a day-level intensity
  m(d) = growth x season x weekday x campaign uplift x pre-campaign dip x
  Spring Festival dip x (1 + marketing response). Customers live in
  "operational time" u = M(t), the cumulative intensity: arrivals are a Poisson
  process in u and each customer's purchases are a renewal process in u (gamma
  gaps; after each purchase the customer continues with a probability set by the
  acquisition channel, lower after a late delivery). Mapping u back to calendar
  time makes orders per day proportional to m(d) while keeping each customer's
  repeat pattern.
* Baskets. A line's category is drawn with weight share x price_index^elasticity
  and the number of lines grows with the day's overall price attractiveness, so
  every category's units follow its own price with the planted elasticity.
* Scale. Customers are simulated in independent blocks (rng seeded with
  ``(seed, block_index)``) that are written row group by row group; daily
  aggregates (traffic, inventory, attribution) are summed across blocks and
  written at the end, so memory stays flat at any scale.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from workbench.data.schema import (
    CHANNELS,
    DEFAULT_TIMEZONE,
    FULFILMENT_TYPES,
    MARKETING_CHANNELS,
    ORDER_SOURCES,
    REPORTING_CURRENCY,
    RETURN_REASONS,
    TABLES,
    TICKET_CATEGORIES,
    TRAFFIC_SOURCES,
)

__all__ = ["BLOCK_TABLES", "generate"]

# ------------------------------------------------------------------ calendar
START = np.datetime64("2024-01-01", "D")
END = np.datetime64("2025-12-31", "D")
N_DAYS = int((END - START).astype(int)) + 1  # 731
BURN = 730  # 2022-01-01 .. 2023-12-31: simulated so that 2024 starts with a customer base, not written
EXT = BURN + N_DAYS
DAY0 = int(START.astype("int64"))  # days since 1970-01-01
UTC_OFFSET = 8 * 3600  # Asia/Shanghai, no daylight saving
END_T = N_DAYS * 86400  # local seconds since the period start
GAP_MEAN_DAYS = 68.0  # mean gap between purchases, operational days
STATIC = 1_000_000  # rng stream offset of the parts that do not belong to a block
BLOCK_CUSTOMERS = 40_000
CUSTOMERS_PER_SCALE = 45_000
ARRIVALS_PER_DAY = 42.0  # new customers per operational day at scale 1 (all channels)

#: Tables written block by block; all others are written once at the end.
BLOCK_TABLES = ("customers", "orders", "order_items", "shipments", "returns", "reviews", "tickets")

NCH = len(CHANNELS)
_CH = {c: i for i, c in enumerate(CHANNELS)}
TMALL, JD, PDD, DOUYIN, WECHAT, OFFLINE, CROSS = (_CH[c] for c in (
    "tmall", "jd", "pinduoduo", "douyin", "wechat_mini", "offline_store", "cross_border"))
_FUL = {f: i for i, f in enumerate(FULFILMENT_TYPES)}
DELIVERY, PICKUP, SFS, IN_STORE = (_FUL[f] for f in ("delivery", "pickup_in_store", "ship_from_store", "in_store"))
_SRC = {s: i for i, s in enumerate(ORDER_SOURCES)}
_MC = {m: i for i, m in enumerate(MARKETING_CHANNELS)}

# ------------------------------------------------------------------ channels (CHANNELS order)
FEE_RATE = np.array([0.05, 0.06, 0.03, 0.08, 0.01, 0.0, 0.12])
ARRIVAL_SHARE = np.array([0.27, 0.14, 0.18, 0.19, 0.10, 0.07, 0.05])
P_CONTINUE = np.array([0.72, 0.64, 0.34, 0.42, 0.80, 0.60, 0.52])
WEEKDAY = np.array([  # Monday .. Sunday
    [1.00, 0.97, 0.97, 0.98, 1.00, 1.03, 1.05],
    [1.02, 1.00, 1.00, 1.00, 1.00, 0.98, 1.00],
    [0.98, 0.97, 0.98, 0.99, 1.00, 1.04, 1.04],
    [0.90, 0.90, 0.93, 0.96, 1.02, 1.15, 1.14],
    [0.97, 0.97, 0.98, 0.98, 1.00, 1.03, 1.07],
    [0.78, 0.76, 0.79, 0.84, 0.97, 1.42, 1.44],
    [1.00, 1.00, 1.00, 1.00, 1.00, 1.00, 1.00],
])
WEEKDAY = WEEKDAY / WEEKDAY.mean(axis=1, keepdims=True)
LINES_MEAN = np.array([1.58, 1.52, 1.28, 1.25, 1.50, 1.85, 1.62])
PRICE_TILT = np.array([-0.5, -0.3, -1.3, -0.8, -0.5, -0.2, -0.2])  # product choice weight x price^tilt
CHANNEL_PRICE = np.array([1.0, 1.0, 0.97, 1.0, 1.0, 1.0, 1.0])
CANCEL_P = np.array([0.025, 0.02, 0.04, 0.05, 0.02, 0.0, 0.03])
REVIEW_P = np.array([0.22, 0.20, 0.18, 0.16, 0.22, 0.05, 0.12])
RETURN_CH = np.array([1.0, 0.9, 1.3, 1.5, 0.8, 0.4, 0.6])
SHIP_FEE = np.array([8.0, 6.0, 0.0, 0.0, 10.0, 0.0, 0.0])  # CNY when the order is below 99 CNY
# baseline sources (organic, social, content, private_traffic) when not marketing-driven
BASE_SOURCES = np.array([
    [0.75, 0.08, 0.12, 0.05], [0.85, 0.05, 0.05, 0.05], [0.70, 0.25, 0.02, 0.03], [0.35, 0.20, 0.45, 0.00],
    [0.30, 0.15, 0.05, 0.50], [1.00, 0.00, 0.00, 0.00], [0.80, 0.10, 0.10, 0.00],
])
_BASE_SOURCE_CODES = np.array([_SRC["organic"], _SRC["social"], _SRC["content"], _SRC["private_traffic"]])

_HOUR_ONLINE = np.array([2.0, 1.1, 0.6, 0.4, 0.3, 0.4, 0.8, 1.6, 2.6, 3.6, 4.4, 4.6,
                         4.2, 4.0, 4.2, 4.3, 4.2, 4.1, 4.3, 4.9, 5.6, 6.2, 5.8, 4.0])
_HOUR_DOUYIN = _HOUR_ONLINE * np.r_[np.ones(19), 1.6, 1.8, 1.9, 1.7, 1.3]
_HOUR_WECHAT = _HOUR_ONLINE * np.r_[np.ones(11), 1.3, 1.5, 1.2, np.ones(10)]
_HOUR_STORE = np.r_[np.zeros(10), [3.0, 4.0, 4.2, 4.0, 5.0, 5.5, 5.5, 5.0, 5.2, 6.0, 6.0, 4.0], np.zeros(2)]
_HOUR_CROSS = 2.5 + np.cos(np.arange(24) / 24 * 2 * np.pi) * 1.0
HOURS = np.array([_HOUR_ONLINE, _HOUR_ONLINE, _HOUR_ONLINE, _HOUR_DOUYIN, _HOUR_WECHAT, _HOUR_STORE, _HOUR_CROSS])
HOURS_TICKET = np.r_[[0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.5, 1.2, 2.5, 4.5, 5.5, 5.0],
                     [4.0, 4.2, 4.8, 4.6, 4.2, 3.8, 3.6, 4.0, 4.6, 4.8, 3.0, 1.2]]

# ------------------------------------------------------------------ categories
CATS = ("skincare", "makeup", "haircare", "apparel", "shoes", "home", "electronics", "snacks")
NCAT = len(CATS)
N_PER_CAT = (40, 34, 24, 44, 26, 30, 20, 22)
PRICE_RANGE = ((59, 599), (39, 399), (29, 199), (69, 899), (129, 999), (19, 499), (99, 1999), (9.9, 99))
ELASTICITY = np.array([-1.2, -1.5, -0.8, -2.0, -1.7, -1.1, -2.4, -0.65])
CAT_SHARE = np.array([0.20, 0.14, 0.09, 0.17, 0.09, 0.11, 0.08, 0.12])
CAT_TILT = np.array([  # channel x category multipliers of the category share
    [1.1, 1.1, 1.0, 1.0, 1.0, 1.0, 1.0, 0.8],
    [0.9, 0.8, 1.0, 0.9, 1.0, 1.1, 1.8, 1.0],
    [0.7, 0.8, 1.2, 0.9, 0.8, 1.3, 0.7, 1.8],
    [1.2, 1.4, 1.0, 1.1, 0.9, 0.9, 0.7, 1.1],
    [1.1, 1.0, 1.0, 1.0, 1.0, 1.0, 0.9, 1.0],
    [1.0, 1.2, 0.8, 1.4, 1.4, 0.8, 0.6, 0.6],
    [1.4, 1.3, 0.8, 0.9, 0.8, 0.8, 1.0, 0.9],
])
QTY_EXTRA = np.array([0.20, 0.15, 0.30, 0.10, 0.03, 0.25, 0.03, 0.80])
RETURN_P = np.array([0.016, 0.016, 0.013, 0.05, 0.045, 0.018, 0.022, 0.005])
RETURN_REASON_P = np.array([  # defect, wrong_size, not_as_described, late_delivery, changed_mind, damaged, other
    [0.10, 0.00, 0.30, 0.0, 0.45, 0.05, 0.10],
    [0.10, 0.00, 0.35, 0.0, 0.40, 0.05, 0.10],
    [0.10, 0.00, 0.25, 0.0, 0.45, 0.08, 0.12],
    [0.04, 0.52, 0.20, 0.0, 0.20, 0.00, 0.04],
    [0.05, 0.55, 0.15, 0.0, 0.20, 0.00, 0.05],
    [0.20, 0.00, 0.25, 0.0, 0.30, 0.15, 0.10],
    [0.45, 0.00, 0.20, 0.0, 0.25, 0.05, 0.05],
    [0.05, 0.00, 0.20, 0.0, 0.40, 0.20, 0.15],
])
_RR = {r: i for i, r in enumerate(RETURN_REASONS)}
IMAGE_EFFECT, IMAGE_CAP, VIDEO_EFFECT = 0.08, 8, 0.25

_PRODUCT_WORDS = {
    "skincare": (("玻尿酸", "烟酰胺", "积雪草", "神经酰胺", "维C", "胶原", "视黄醇", "角鲨烷"),
                 ("精华液", "面霜", "爽肤水", "洁面乳", "面膜", "防晒乳", "眼霜", "乳液"), ("30ml", "50ml", "100ml")),
    "makeup": (("丝绒", "水光", "哑光", "柔雾", "持妆", "清透"),
               ("口红", "粉底液", "眼影盘", "腮红", "散粉", "眉笔", "睫毛膏"), ("#01", "#02", "#03", "#05")),
    "haircare": (("氨基酸", "生姜", "无硅油", "蓬松", "修护"), ("洗发水", "护发素", "发膜", "护发精油"),
                 ("300ml", "500ml")),
    "apparel": (("纯棉", "羊毛", "冰丝", "加绒", "宽松", "修身"),
                ("T恤", "卫衣", "衬衫", "连衣裙", "针织衫", "外套", "阔腿裤"),
                ("S-XL", "均码")),
    "shoes": (("轻便", "透气", "厚底", "复古", "软底"), ("运动鞋", "小白鞋", "乐福鞋", "马丁靴", "凉鞋"),
              ("35-40", "39-44")),
    "home": (("北欧", "简约", "日式", "加厚"), ("香薰", "收纳盒", "四件套", "保温杯", "毛巾", "抱枕", "餐具套装"),
             ("单件", "套装")),
    "electronics": (("降噪", "无线", "便携", "智能"), ("蓝牙耳机", "充电宝", "电动牙刷", "吹风机", "美容仪"),
                    ("标准版", "Pro")),
    "snacks": (("低糖", "每日", "手工", "原味"), ("坚果", "果干", "燕麦片", "饼干", "花茶"), ("250g", "500g", "礼盒")),
}
_SUPPLIERS = {
    "skincare": ("广州美研生物", "上海科丽化妆品", "苏州泉肌制造"), "makeup": ("汕头彩妆工坊", "上海科丽化妆品"),
    "haircare": ("广州美研生物", "杭州沐然日化"), "apparel": ("宁波织造服饰", "东莞衣品制衣", "杭州云裳"),
    "shoes": ("晋江步锐鞋业", "温州足尚鞋业"), "home": ("义乌优家日用", "佛山宜居家纺"),
    "electronics": ("深圳声科电子", "东莞智联科技"), "snacks": ("临安山野食品", "厦门甜心食品"),
}

# ------------------------------------------------------------------ geography and people
REGIONS = ("East", "South", "North", "Central", "Southwest", "Northeast", "Northwest")
REGION_W = np.array([0.31, 0.21, 0.15, 0.12, 0.11, 0.05, 0.05])
REGION_W_PDD = np.array([0.20, 0.17, 0.14, 0.19, 0.16, 0.07, 0.07])
REGION_SPEND = np.array([1.20, 1.12, 1.00, 0.88, 0.92, 0.85, 0.82])
PROMISE_DAYS = np.array([2, 2, 2, 2, 3, 3, 4])
REGION_WAREHOUSE = np.array([0, 1, 2, 3, 1, 2, 2])
WAREHOUSES = ("Shanghai Jiading DC", "Guangzhou Huangpu DC", "Beijing Daxing DC", "Wuhan Dongxihu DC")
# city, province (Chinese), city (Chinese), region index
CITIES = (
    ("Shanghai", "", "上海市", 0), ("Hangzhou", "浙江省", "杭州市", 0), ("Nanjing", "江苏省", "南京市", 0),
    ("Suzhou", "江苏省", "苏州市", 0), ("Ningbo", "浙江省", "宁波市", 0), ("Jinan", "山东省", "济南市", 0),
    ("Guangzhou", "广东省", "广州市", 1), ("Shenzhen", "广东省", "深圳市", 1), ("Dongguan", "广东省", "东莞市", 1),
    ("Xiamen", "福建省", "厦门市", 1), ("Nanning", "广西壮族自治区", "南宁市", 1),
    ("Beijing", "", "北京市", 2), ("Tianjin", "", "天津市", 2), ("Shijiazhuang", "河北省", "石家庄市", 2),
    ("Taiyuan", "山西省", "太原市", 2),
    ("Wuhan", "湖北省", "武汉市", 3), ("Changsha", "湖南省", "长沙市", 3), ("Zhengzhou", "河南省", "郑州市", 3),
    ("Nanchang", "江西省", "南昌市", 3),
    ("Chengdu", "四川省", "成都市", 4), ("Chongqing", "", "重庆市", 4), ("Kunming", "云南省", "昆明市", 4),
    ("Guiyang", "贵州省", "贵阳市", 4),
    ("Shenyang", "辽宁省", "沈阳市", 5), ("Harbin", "黑龙江省", "哈尔滨市", 5), ("Dalian", "辽宁省", "大连市", 5),
    ("Changchun", "吉林省", "长春市", 5),
    ("Xi'an", "陕西省", "西安市", 6), ("Lanzhou", "甘肃省", "兰州市", 6),
    ("Urumqi", "新疆维吾尔自治区", "乌鲁木齐市", 6),
    ("Yinchuan", "宁夏回族自治区", "银川市", 6),
)
CITY_REGION = np.array([c[3] for c in CITIES])
CITY_W = np.array([1.0 / (1 + 0.6 * i) for i in
                   [0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3]])
# country, currency, weight, duty rate, phone prefix, cities
COUNTRIES = (
    ("US", "USD", 0.35, 0.08, "+1", ("New York", "Los Angeles", "San Francisco", "Seattle", "Chicago")),
    ("JP", "JPY", 0.20, 0.06, "+81", ("Tokyo", "Osaka", "Yokohama", "Fukuoka")),
    ("DE", "EUR", 0.08, 0.19, "+49", ("Berlin", "Munich", "Hamburg")),
    ("FR", "EUR", 0.07, 0.20, "+33", ("Paris", "Lyon", "Marseille")),
    ("GB", "GBP", 0.10, 0.20, "+44", ("London", "Manchester", "Edinburgh")),
    ("SG", "SGD", 0.10, 0.09, "+65", ("Singapore",)),
    ("AU", "AUD", 0.10, 0.10, "+61", ("Sydney", "Melbourne", "Brisbane")),
)
CURRENCIES = ("CNY", "USD", "EUR", "JPY", "GBP", "SGD", "AUD")
FX_START = np.array([1.0, 7.10, 7.85, 0.0503, 9.05, 5.38, 4.84])
COUNTRY_CUR = np.array([CURRENCIES.index(c[1]) for c in COUNTRIES])
JPY = CURRENCIES.index("JPY")
FX_MOVE = {"currency": "JPY", "start": "2025-05-01", "end": "2025-05-31", "percent_change": -12.0}

_SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹"
                 "彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢")
_GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
          "秀兰", "霞", "平", "刚", "桂英", "欣", "怡", "婷", "雪", "晨", "浩", "宇", "子涵", "梓萱", "一诺",
          "思远", "佳琪",
          "雨桐", "欣怡", "俊杰", "梦瑶", "家豪", "诗涵", "嘉怡", "文博", "晓", "琳", "悦"]
_DISTRICTS = ["东城区", "西城区", "高新区", "经开区", "新区", "南区", "北区", "滨江区", "城关区", "开发区",
              "中心区", "湖滨区"]
_STREETS = ["人民路", "中山路", "解放路", "建设路", "和平路", "文化路", "长江路", "黄河路", "新华路", "学府路",
            "科技路",
            "滨河路", "光明街", "胜利街", "朝阳路", "幸福路", "青年路", "花园路", "桂花路", "迎宾大道"]
_FIRST_EN = ["James", "Mary", "Emma", "Liam", "Olivia", "Noah", "Sophia", "Yuki", "Haruto", "Hannah", "Lukas", "Chloe",
             "Wei", "Aiko", "Oliver", "Charlotte", "Ethan", "Mia", "Lucas", "Amelia", "Kenji", "Grace"]
_LAST_EN = ["Smith", "Johnson", "Brown", "Tanaka", "Suzuki", "Mueller", "Schmidt", "Martin", "Bernard", "Tan", "Lim",
            "Wilson", "Taylor", "Lee", "Nguyen", "Sato", "Walker", "Chen"]
_STREETS_EN = ["Maple Street", "Oak Avenue", "Harbour Road", "King Street", "Park Lane", "River Road", "Hill Street",
               "Station Road", "Garden Way", "Elm Street"]
_PHONE_PREFIX = ["130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152", "157", "158", "159",
                 "166", "176", "177", "178", "180", "181", "182", "185", "186", "187", "188", "189", "191", "199"]

# ------------------------------------------------------------------ logistics
CARRIERS = ("SF Express", "JD Logistics", "ZTO Express", "YTO Express", "SwiftPost", "DHL Express")
LATE_P = np.array([0.05, 0.04, 0.075, 0.085, 0.28, 0.10])
LATE_SCALE = np.array([0.8, 0.7, 1.0, 1.0, 1.4, 1.5])  # gamma scale of the days late
CARRIER_COST = np.array([14.0, 12.0, 6.0, 5.5, 4.5, 95.0])
CARRIER_MIX = np.array([
    [0.22, 0.05, 0.25, 0.23, 0.25, 0.0], [0.08, 0.80, 0.04, 0.04, 0.04, 0.0], [0.03, 0.00, 0.30, 0.30, 0.37, 0.0],
    [0.12, 0.03, 0.28, 0.27, 0.30, 0.0], [0.35, 0.05, 0.22, 0.18, 0.20, 0.0], [0.50, 0.00, 0.50, 0.00, 0.00, 0.0],
    [0.40, 0.00, 0.00, 0.00, 0.00, 0.6],
])
CARRIER_MIX_SFS = np.array([0.6, 0.0, 0.4, 0.0, 0.0, 0.0])
CNY_FESTIVALS = ("2022-02-01", "2023-01-22", "2024-02-10", "2025-01-29")
CNY_HOLIDAY = (-2, 5)  # order intensity x0.6 on these days around the festival
CNY_HOLIDAY_MULT = 0.6
CNY_SLOWDOWN = (-6, 8)  # carriers late more often on these days around the festival
CNY_SLOWDOWN_LATE = 0.25
LOST_P, DAMAGED_P = 0.005, 0.01
LATE_CONTINUE_OR = 0.6
SWITCH_P, SWITCH_P_OFFLINE = 0.18, 0.3  # chance that a later purchase is made in another channel
SWITCH_CHANNEL_P = np.array([0.35, 0.2, 0.15, 0.15, 0.15])  # which one: tmall, jd, pinduoduo, douyin, wechat_mini
REPEAT_WINDOWS = (90, 365)  # days after the first purchase for which truth.json states the expected repeat rate
RATING_DROP_PER_LATE_DAY, RATING_CAP_DAYS = 0.4, 5

# ------------------------------------------------------------------ reviews
RATING_P = np.array([0.03, 0.04, 0.09, 0.26, 0.58])
RATING_P_DEFECT = np.array([0.42, 0.24, 0.14, 0.12, 0.08])
_PHRASES = {
    ("zh", "pos"): ["质量很好", "物流很快", "非常满意", "包装精美", "性价比高", "会回购的", "颜色很正", "和描述一致",
                    "客服态度好", "用着很舒服", "送人很有面子", "效果明显"],
    ("zh", "neu"): ["还可以", "一般般", "中规中矩", "价格有点贵", "包装一般", "凑合用吧", "没有想象中好"],
    ("zh", "neg"): ["质量太差", "做工粗糙", "客服不理人", "和图片不一样", "不推荐购买", "味道很刺鼻", "非常失望"],
    ("zh", "late"): ["物流太慢了", "快递拖了好几天", "等了很久才到"],
    ("zh", "defect"): ["用了就过敏", "质量有问题", "收到就是坏的", "明显是次品", "味道不对", "和以前买的不一样"],
    ("en", "pos"): ["great quality", "fast shipping", "very satisfied", "love it", "good value for money",
                    "exactly as described", "would buy again"],
    ("en", "neu"): ["it's okay", "average", "a bit pricey", "not bad", "packaging could be better"],
    ("en", "neg"): ["poor quality", "cheaply made", "customer service never replied", "not as pictured",
                    "would not recommend", "very disappointed"],
    ("en", "late"): ["shipping took forever", "arrived late", "delivery was very slow"],
    ("en", "defect"): ["caused a rash", "arrived broken", "defective batch", "poor quality",
                       "not like the one I bought before"],
}

# ------------------------------------------------------------------ tickets
TICKET_MEDIAN_HOURS = {"pre_sale": 3.0, "order_status": 6.0, "delivery": 10.0, "return_refund": 40.0,
                       "product_quality": 14.0, "invoice": 8.0, "account": 6.0}
_TC = {c: i for i, c in enumerate(TICKET_CATEGORIES)}
TICKET_OTHER_P = {"pre_sale": 0.25, "order_status": 0.30, "delivery": 0.13, "invoice": 0.12, "account": 0.08,
                  "product_quality": 0.12, "return_refund": 0.0}
N_AGENTS = 48

# ------------------------------------------------------------------ campaigns
# id, name, kind, start, end, discount rate, planted uplift (mean multiplier), pre-campaign dip multiplier
_CAMPAIGNS = (
    ("C2024_CNY", "2024 年货节 Spring Festival Sale", "chinese_new_year", "2024-02-01", "2024-02-07", 0.12, 1.45, None),
    ("C2024_WOMENSDAY", "2024 女王节 Women's Day", "womens_day", "2024-03-01", "2024-03-08", 0.15, 1.50, None),
    ("C2024_BRANDDAY", "2024 品牌日 Brand Day", "brand_day", "2024-04-18", "2024-04-18", 0.25, 2.50, None),
    ("C2024_618", "2024 618 年中大促", "618", "2024-06-01", "2024-06-18", 0.20, 1.85, 0.85),
    ("C2024_DOUBLE11", "2024 双11 Double 11", "double_11", "2024-10-20", "2024-11-11", 0.25, 2.10, 0.82),
    ("C2024_DOUBLE12", "2024 双12 Double 12", "double_12", "2024-12-10", "2024-12-12", 0.15, 1.60, None),
    ("C2025_CNY", "2025 年货节 Spring Festival Sale", "chinese_new_year", "2025-01-20", "2025-01-26", 0.12, 1.40, None),
    ("C2025_WOMENSDAY", "2025 女王节 Women's Day", "womens_day", "2025-03-01", "2025-03-08", 0.15, 1.55, None),
    ("C2025_BRANDDAY", "2025 品牌日 Brand Day", "brand_day", "2025-04-18", "2025-04-18", 0.25, 2.60, None),
    ("C2025_618", "2025 618 年中大促", "618", "2025-06-01", "2025-06-18", 0.20, 1.95, 0.85),
    ("C2025_DOUBLE11", "2025 双11 Double 11", "double_11", "2025-10-20", "2025-11-11", 0.25, 2.20, 0.80),
    ("C2025_DOUBLE12", "2025 双12 Double 12", "double_12", "2025-12-10", "2025-12-12", 0.15, 1.55, None),
)
PRE_DIP_DAYS = 7
_COUPON_OF_KIND = {"chinese_new_year": "NIANHUO", "womens_day": "QUEEN", "brand_day": "BRAND", "618": "MID618",
                   "double_11": "D11", "double_12": "D12"}

# ------------------------------------------------------------------ marketing
# marketing channel: daily spend at scale 1 (CNY), beta, gamma (CNY at scale 1), lambda, CPM (CNY), CTR
MKT = {
    "search_ads": (1600.0, 0.12, 2500.0, 0.30, 45.0, 0.040),
    "social": (900.0, 0.08, 2000.0, 0.50, 25.0, 0.012),
    "content": (700.0, 0.07, 2500.0, 0.70, 35.0, 0.020),
    "display": (500.0, 0.04, 1000.0, 0.40, 12.0, 0.004),
    "livestream": (600.0, 0.08, 800.0, 0.20, 30.0, 0.030),
    "affiliate": (400.0, 0.05, 600.0, 0.30, 20.0, 0.015),
}
MKT_PAIRS = (  # marketing channel, sales channel, share of the marketing channel's spend
    ("search_ads", "tmall", 0.5), ("search_ads", "jd", 0.3), ("search_ads", "pinduoduo", 0.2),
    ("social", "douyin", 0.6), ("social", "wechat_mini", 0.4),
    ("content", "tmall", 0.4), ("content", "douyin", 0.4), ("content", "wechat_mini", 0.2),
    ("display", "tmall", 0.4), ("display", "jd", 0.3), ("display", "pinduoduo", 0.3),
    ("livestream", "douyin", 0.7), ("livestream", "tmall", 0.3),
    ("affiliate", "tmall", 0.4), ("affiliate", "jd", 0.3), ("affiliate", "cross_border", 0.3),
)
MKT_SOURCE = np.array([_SRC[s] for s in ("paid_search", "social", "content", "social", "livestream", "referral")])

# ------------------------------------------------------------------ KOLs
# handle, platform, followers, tier, commission, categories, planted ROI, viewers per stream (scale 1), conversion
_KOLS = (
    ("lily_lab_skin", "douyin", 12_400_000, "head", 0.08, ("skincare", "makeup"), 5.6, 9000, 0.0022),
    ("haohuo_dage", "douyin", 8_900_000, "head", 0.25, ("home", "snacks"), 0.35, 9500, 0.0016),
    ("meimei_tan", "douyin", 3_200_000, "mid", 0.15, ("makeup",), 1.9, 6000, 0.0020),
    ("techlaoli", "douyin", 2_100_000, "mid", 0.12, ("electronics",), 1.5, 4500, 0.0018),
    ("fashion_yiyi", "douyin", 2_600_000, "mid", 0.18, ("apparel", "shoes"), 2.2, 5500, 0.0021),
    ("chihuo_dawang", "douyin", 1_500_000, "mid", 0.20, ("snacks",), 1.3, 6500, 0.0024),
    ("jiaju_xiaoguo", "douyin", 680_000, "tail", 0.15, ("home",), 1.6, 3000, 0.0025),
    ("runner_kai", "douyin", 540_000, "tail", 0.12, ("shoes",), 2.4, 2500, 0.0022),
    ("tangtang_skin", "douyin", 920_000, "tail", 0.15, ("skincare",), 1.8, 3500, 0.0024),
    ("vivi_style", "tmall", 4_300_000, "head", 0.10, ("apparel", "makeup"), 2.5, 7000, 0.0019),
    ("liuliu_live", "tmall", 1_200_000, "mid", 0.15, ("haircare", "skincare"), 1.2, 4000, 0.0020),
    ("daily_gadget", "tmall", 450_000, "tail", 0.12, ("electronics", "home"), 2.0, 2500, 0.0020),
)
STREAM_PRICE = 0.80  # livestream-exclusive price as a share of list
STREAM_QTY_EXTRA = 0.25
STREAM_NEW_SHARE = 0.8  # share of livestream orders placed by new customers

# ------------------------------------------------------------------ planted one-off events
REFUND_SPIKE = {"start": "2025-08-11", "end": "2025-08-15", "coupon_code": "WELCOME50",
                "address": "广东省深圳市宝安区西乡街道固戍二路88号3栋1702室", "accounts_per_scale": 60}
DEFECT_DATE = "2025-09-15"
STOCKOUT_WINDOWS = (("2024-08-05", "2024-08-18"), ("2025-04-21", "2025-05-04"), ("2025-09-01", "2025-09-14"))
PRICE_GAP = 0.82  # pinduoduo price of the gap products relative to the other channels

_ARROW_TYPES = {"string": pa.string(), "category": pa.string(), "int": pa.int64(), "float": pa.float64(),
                "bool": pa.bool_(), "date": pa.date32(), "timestamp": pa.timestamp("us", tz=DEFAULT_TIMEZONE)}


# ================================================================== small helpers
def _day(iso: str) -> int:
    """Period day index (0 = 2024-01-01) of an ISO date."""
    return int((np.datetime64(iso, "D") - START).astype(int))


def _iso(day: int) -> str:
    return str(START + np.timedelta64(int(day), "D"))


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream])


def _choice(rng: np.random.Generator, p: np.ndarray, n: int) -> np.ndarray:
    """n draws of an index with probabilities p (1-D)."""
    cum = np.cumsum(p / p.sum())
    return np.minimum(np.searchsorted(cum, rng.random(n), side="right"), len(p) - 1)


def _choice_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One draw per row of a (n, k) probability matrix."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cum[:, -1]
    return np.minimum((cum <= u[:, None]).sum(axis=1), probs.shape[1] - 1)


def _take(cols: dict, idx: np.ndarray) -> dict:
    return {k: v[idx] for k, v in cols.items()}


def _concat(parts: list[dict]) -> dict:
    keys = parts[0].keys()
    return {k: np.concatenate([p[k] for p in parts]) for k in keys}


def _ids(prefix: str, block: int, n: int, width: int) -> np.ndarray:
    head = f"{prefix}{block:03d}"
    return np.array([f"{head}{i:0{width}d}" for i in range(n)], dtype=object)


def _positions(group: np.ndarray) -> np.ndarray:
    """1-based position of each row within its run of equal, sorted group values."""
    return np.arange(len(group)) - np.searchsorted(group, group, side="left") + 1


def _round_money(x: np.ndarray, cur: np.ndarray) -> np.ndarray:
    """Round to cents, or to whole yen for JPY."""
    return np.where(cur == JPY, np.round(x), np.round(x, 2))


# ================================================================== arrow output
def _schema(name: str) -> pa.Schema:
    return pa.schema([pa.field(c.name, _ARROW_TYPES[c.dtype], nullable=c.nullable) for c in TABLES[name].columns])


def _ts(t: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """Local seconds since the period start -> timestamp[us, Asia/Shanghai]."""
    us = ((DAY0 * 86400 - UTC_OFFSET) + np.asarray(t, dtype=np.int64)) * 1_000_000
    return pa.array(us, type=_ARROW_TYPES["timestamp"], mask=mask)


def _dates(day: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return pa.array((DAY0 + np.asarray(day, dtype=np.int64)).astype(np.int32), type=pa.date32(), mask=mask)


def _arrow_table(name: str, cols: dict) -> pa.Table:
    """Build table ``name`` in schema order from numpy arrays, lists or arrow arrays."""
    schema = _schema(name)
    arrays = []
    for f in schema:
        v = cols[f.name]
        if not isinstance(v, pa.Array):
            if isinstance(v, tuple):  # (values, null mask)
                values, mask = v
                v = pa.array(values, type=f.type, mask=mask, from_pandas=False)
            else:
                v = pa.array(v, type=f.type)
        arrays.append(v)
    return pa.Table.from_arrays(arrays, schema=schema)


def _writer(path: Path, name: str) -> pq.ParquetWriter:
    return pq.ParquetWriter(path, _schema(name), compression="zstd", compression_level=3, use_dictionary=True,
                            write_statistics=True, version="2.6", data_page_version="1.0")


def _write_table(out: Path, name: str, table: pa.Table) -> None:
    with _writer(out / f"{name}.parquet", name) as w:
        w.write_table(table)


# ================================================================== the static world
@dataclass
class _World:
    """Everything shared by all blocks: calendar, demand, catalogue, prices, events."""

    seed: int
    scale: float
    n_blocks: int
    weekday: np.ndarray  # (EXT,) 0 = Monday
    m: np.ndarray  # (NCH, EXT) day intensity
    gstart: np.ndarray  # (NCH*EXT,) cumulative intensity at each day start, channels laid end to end
    m_flat: np.ndarray
    off: np.ndarray  # (NCH,) offset of each channel in gstart
    tot: np.ndarray  # (NCH,) total operational time of each channel
    hour_cdf: np.ndarray  # (NCH, 25)
    campaign_of_day: np.ndarray  # (N_DAYS,) campaign index or -1
    coupon_of_campaign: list
    slowdown: np.ndarray  # (N_DAYS,) bool
    price_idx: np.ndarray  # (NCAT, N_DAYS)
    cat_cum: np.ndarray  # (NCH, N_DAYS, NCAT)
    lines_mean: np.ndarray  # (NCH, N_DAYS)
    products: dict
    prod_cum: dict  # (channel, category) -> (product indices, cumulative probabilities)
    prod_prob: np.ndarray  # (NCH, P) probability of each product given its category and the channel
    cat_top: np.ndarray  # most popular product of each category launched before 2024
    oos: np.ndarray  # (N_DAYS, P) out of stock
    gap: np.ndarray  # (NCH, P) channel price multiplier per product
    price_list: np.ndarray  # (len(CURRENCIES), P) list prices in each currency
    fx: np.ndarray  # (N_DAYS, len(CURRENCIES))
    r_mc: np.ndarray  # (len(MARKETING_CHANNELS), N_DAYS) marketing response by marketing channel
    stores: dict
    streams: dict
    kol_products: np.ndarray  # (n_kols, 2)
    specials: dict
    static_tables: dict
    truth_parts: dict


def _build_world(seed: int, scale: float) -> _World:
    """Build everything that does not depend on a block: demand, catalogue, prices, events, static tables."""
    n_blocks = max(1, math.ceil(scale * CUSTOMERS_PER_SCALE / BLOCK_CUSTOMERS))
    ext_day = np.arange(EXT) - BURN
    weekday = (DAY0 + ext_day + 3) % 7  # 1970-01-01 was a Thursday
    camp = _campaign_calendar()
    products = _build_products(_rng(seed, STATIC + 1))
    price_idx = _build_prices(_rng(seed, STATIC + 2), camp)
    mkt = _build_marketing(_rng(seed, STATIC + 3), camp, scale)
    m = _build_intensity(camp, mkt["r_total"], weekday)
    cum = np.concatenate([np.zeros((NCH, 1)), np.cumsum(m, axis=1)], axis=1)
    tot = cum[:, -1].copy()
    off = np.concatenate([[0.0], np.cumsum(tot)[:-1]])
    gstart = (cum[:, :-1] + off[:, None]).ravel()
    hour_cdf = np.concatenate([np.zeros((NCH, 1)), np.cumsum(HOURS / HOURS.sum(1, keepdims=True), axis=1)], axis=1)
    hour_cdf[:, -1] = 1.0

    cat_cum, lines_mean = _basket_model(price_idx, camp)
    specials = _pick_specials(products)
    P = len(products["product_id"])
    oos = np.zeros((N_DAYS, P), dtype=bool)
    for p, (a, b) in zip(specials["stockout"], STOCKOUT_WINDOWS):
        oos[_day(a):_day(b) + 1, p] = True
    gap = np.ones((NCH, P))
    gap[PDD, specials["price_gap"]] = PRICE_GAP / CHANNEL_PRICE[PDD]
    prod_cum, prod_prob, cat_top = _product_choice(products)

    fx = _build_fx(_rng(seed, STATIC + 4))
    price_list = _price_lists(products["list_price_cny"])
    stores = _build_stores(_rng(seed, STATIC + 6))
    kol_products, streams, kol_rows = _build_streams(_rng(seed, STATIC + 5), products, specials, scale, n_blocks)

    camp_table = _campaigns_table(camp, mkt)
    static_tables = {
        "products": _products_table(products),
        "stores": _stores_table(stores),
        "kols": kol_rows,
        "livestreams": _livestreams_table(streams),
        "campaigns": camp_table,
        "fx_rates": _fx_table(fx),
    }
    truth_parts = {"camp": camp, "mkt": mkt, "m": m, "specials": specials, "products": products,
                   "streams": streams}
    return _World(
        seed=seed, scale=scale, n_blocks=n_blocks, weekday=weekday, m=m, gstart=gstart, m_flat=m.ravel().copy(),
        off=off, tot=tot, hour_cdf=hour_cdf, campaign_of_day=camp["campaign_of_day"],
        coupon_of_campaign=camp["coupon"], slowdown=camp["slowdown"], price_idx=price_idx, cat_cum=cat_cum,
        lines_mean=lines_mean, products=products, prod_cum=prod_cum, prod_prob=prod_prob, cat_top=cat_top, oos=oos,
        gap=gap, price_list=price_list, fx=fx, r_mc=mkt["r_mc"], stores=stores, streams=streams,
        kol_products=kol_products,
        specials=specials, static_tables=static_tables, truth_parts=truth_parts)


def _basket_model(price_idx: np.ndarray, camp: dict) -> tuple[np.ndarray, np.ndarray]:
    """Category choice (cumulative probabilities per channel and day) and mean lines per order.

    Category weight = share x price_index^elasticity; the mean number of lines grows in
    proportion to the summed weights, so each category's expected units move with its
    own price only, with exactly the planted elasticity.
    """
    share = CAT_SHARE[None, :] * CAT_TILT
    share = share / share.sum(1, keepdims=True)
    attract = share[:, :, None] * price_idx[None, :, :] ** ELASTICITY[None, :, None]  # (ch, cat, day)
    s = attract.sum(1)  # (ch, day)
    calm = camp["campaign_of_day"] < 0
    lines_mean = LINES_MEAN[:, None] * s / s[:, calm].mean(1, keepdims=True)
    cat_cum = np.cumsum(attract / s[:, None, :], axis=1).transpose(0, 2, 1).copy()
    cat_cum[:, :, -1] = 1.0
    return cat_cum, lines_mean


def _product_choice(products: dict) -> tuple[dict, np.ndarray, np.ndarray]:
    """Product probabilities within each (channel, category): popularity x price^channel tilt."""
    P = len(products["product_id"])
    prod_cum = {}
    prod_prob = np.zeros((NCH, P))
    for ch in range(NCH):
        for c in range(NCAT):
            idx = np.flatnonzero(products["cat"] == c)
            price = products["list_price_cny"][idx]
            w = products["weight"][idx] * (price / np.median(price)) ** PRICE_TILT[ch]
            cw = np.cumsum(w / w.sum())
            cw[-1] = 1.0
            prod_cum[(ch, c)] = (idx, cw)
            prod_prob[ch, idx] = w / w.sum()
    pre = products["launch_day"] < 0
    cat_top = np.array([np.flatnonzero((products["cat"] == c) & pre)[
        np.argmax(products["weight"][(products["cat"] == c) & pre])] for c in range(NCAT)])
    return prod_cum, prod_prob, cat_top


# ------------------------------------------------------------------ campaigns and calendar events
def _campaign_profile(kind: str, n: int, start_day: int) -> np.ndarray:
    """Relative day weights inside a campaign (mean 1): presale starts and final days peak."""
    w = np.ones(n)
    if kind == "618":
        w[0], w[-1] = 1.5, 3.0
    elif kind == "double_11":
        w[0], w[-1] = 1.6, 4.0
        for iso in ("2024-10-31", "2024-11-01", "2025-10-31", "2025-11-01"):
            j = _day(iso) - start_day
            if 0 <= j < n:
                w[j] = 1.4
    elif kind in ("womens_day", "double_12"):
        w[-1] = 2.0
    return w / w.mean()


def _campaign_calendar() -> dict:
    """Per-day campaign index, uplift multiplier, pre-campaign dips, Spring Festival windows."""
    of_day = np.full(N_DAYS, -1)
    mult = np.ones(N_DAYS)
    dip = np.ones(N_DAYS)
    dip_days = np.zeros(N_DAYS, dtype=bool)
    coupons = []
    for j, (cid, _name, kind, a, b, _disc, uplift, dipm) in enumerate(_CAMPAIGNS):
        d0, d1 = _day(a), _day(b)
        of_day[d0:d1 + 1] = j
        mult[d0:d1 + 1] = uplift * _campaign_profile(kind, d1 - d0 + 1, d0)
        if dipm is not None:
            dip[d0 - PRE_DIP_DAYS:d0] = dipm
            dip_days[d0 - PRE_DIP_DAYS:d0] = True
        coupons.append(f"{_COUPON_OF_KIND[kind]}{cid[1:5]}")
    holiday = np.zeros(EXT, dtype=bool)
    slowdown = np.zeros(N_DAYS, dtype=bool)
    for f in CNY_FESTIVALS:
        fd = _day(f)
        holiday[max(0, BURN + fd + CNY_HOLIDAY[0]):BURN + fd + CNY_HOLIDAY[1] + 1] = True
        lo, hi = max(0, fd + CNY_SLOWDOWN[0]), min(N_DAYS, fd + CNY_SLOWDOWN[1] + 1)
        if hi > 0:
            slowdown[max(lo, 0):hi] = True
    return {"campaign_of_day": of_day, "mult": mult, "dip": dip, "dip_days": dip_days, "coupon": coupons,
            "holiday": holiday, "slowdown": slowdown}


# ------------------------------------------------------------------ demand
def _build_intensity(camp: dict, r_total: np.ndarray, weekday: np.ndarray) -> np.ndarray:
    """Day intensity m[channel, ext_day], normalised to mean 1 over 2024."""
    d = np.arange(EXT) - BURN
    dates = START + d.astype("timedelta64[D]")
    doy = (dates - dates.astype("datetime64[Y]")).astype(int)
    growth = np.exp(np.log(1.32) * d / 365.25)
    season = 1 + 0.07 * np.cos(2 * np.pi * (doy - 345) / 365.25)
    holiday = np.where(camp["holiday"], CNY_HOLIDAY_MULT, 1.0)
    events = np.ones(EXT)
    events[BURN:] = camp["mult"] * camp["dip"]
    calm = camp["campaign_of_day"] < 0
    mkt = np.full(EXT, 1 + r_total[calm].mean())
    mkt[BURN:] = 1 + r_total
    m0 = growth * season * holiday * events * mkt
    m0 = m0 / m0[BURN:BURN + 366].mean()
    return m0[None, :] * WEEKDAY[:, weekday]


def _build_prices(rng: np.random.Generator, camp: dict) -> np.ndarray:
    """Price index (paid / list) per category and day: weekly regimes x campaign discounts."""
    n_weeks = N_DAYS // 7 + 1
    regime = np.exp(rng.uniform(-0.13, 0.13, size=(NCAT, n_weeks)))
    p = 0.88 * regime[:, np.arange(N_DAYS) // 7]  # 2024-01-01 is a Monday
    for j, c in enumerate(_CAMPAIGNS):
        days = camp["campaign_of_day"] == j
        depth = rng.uniform(0.6, 1.4, size=NCAT)
        p[:, days] *= (1 - c[5] * depth)[:, None]
    return np.minimum(p, 0.995)


def _build_marketing(rng: np.random.Generator, camp: dict, scale: float) -> dict:
    """Daily spend per (marketing channel, sales channel) and the response it feeds into demand."""
    n_weeks = N_DAYS // 7 + 1
    week = np.arange(N_DAYS) // 7
    budget = np.exp(rng.normal(0, 0.35, n_weeks))
    in_camp = camp["campaign_of_day"] >= 0
    uplift = np.ones(N_DAYS)
    for j, c in enumerate(_CAMPAIGNS):
        uplift[camp["campaign_of_day"] == j] = 1.5 + 1.5 * (c[6] - 1)
    spend = np.zeros((len(MKT_PAIRS), N_DAYS))
    mc_total = np.zeros((len(MARKETING_CHANNELS), N_DAYS))
    flights = {}
    for mc in MARKETING_CHANNELS:
        f = np.exp(rng.normal(0, 0.3, n_weeks))
        f[rng.random(n_weeks) < 0.12] *= 0.15
        flights[mc] = f
    for i, (mc, _ch, share) in enumerate(MKT_PAIRS):
        base = MKT[mc][0] * share * scale
        noise = np.exp(rng.normal(-0.01, 0.15, N_DAYS))
        spend[i] = np.round(base * budget[week] * flights[mc][week] * noise * uplift, 2)
        mc_total[_MC[mc]] += spend[i]
    r_mc = np.zeros((len(MARKETING_CHANNELS), N_DAYS))
    for mc, (base, beta, gamma, lam, _cpm, _ctr) in MKT.items():
        k = _MC[mc]
        a = base * scale / (1 - lam)
        ad = np.empty(N_DAYS)
        for t in range(N_DAYS):
            a = mc_total[k, t] + lam * a
            ad[t] = a
        r_mc[k] = beta * (1 - np.exp(-ad / (gamma * scale)))
    impressions = np.zeros_like(spend, dtype=np.int64)
    clicks = np.zeros_like(spend, dtype=np.int64)
    for i, (mc, _ch, _s) in enumerate(MKT_PAIRS):
        cpm, ctr = MKT[mc][4], MKT[mc][5]
        impressions[i] = np.round(spend[i] / cpm * 1000 * np.exp(rng.normal(0, 0.1, N_DAYS))).astype(np.int64)
        clicks[i] = rng.binomial(impressions[i], ctr)
    return {"spend": spend, "impressions": impressions, "clicks": clicks, "r_mc": r_mc,
            "r_total": r_mc.sum(0), "in_camp": in_camp}


# ------------------------------------------------------------------ catalogue
def _build_products(rng: np.random.Generator) -> dict:
    """~240 products in 8 categories with prices, costs, listing attributes and a popularity weight."""
    rows: dict[str, list] = {k: [] for k in ("cat", "name", "list_price_cny", "unit_cost_cny", "launch_day",
                                             "supplier", "title_length", "image_count", "has_video",
                                             "description_length", "weight")}
    for c, (cat, n) in enumerate(zip(CATS, N_PER_CAT)):
        lo, hi = PRICE_RANGE[c]
        price = np.exp(rng.uniform(np.log(lo), np.log(hi), n))
        price = np.where(price < 100, np.floor(price) + 0.9, np.round(price / 10) * 10 - 1)
        rank = rng.permutation(n) + 1
        images = rng.integers(1, 13, n)
        video = rng.random(n) < 0.45
        listing = (1 + IMAGE_EFFECT) ** np.minimum(images, IMAGE_CAP) * np.where(video, 1 + VIDEO_EFFECT, 1.0)
        weight = rank ** -0.55 * listing
        launched_before = rng.random(n) < 0.82
        launch = np.where(launched_before, rng.integers(-1100, -20, n), rng.integers(20, 600, n))
        attrs, nouns, sizes = _PRODUCT_WORDS[cat]
        for i in range(n):
            name = (f"{attrs[rng.integers(len(attrs))]}{nouns[rng.integers(len(nouns))]} "
                    f"{sizes[rng.integers(len(sizes))]}")
            rows["cat"].append(c)
            rows["name"].append(name)
            rows["list_price_cny"].append(float(price[i]))
            rows["unit_cost_cny"].append(float(np.round(price[i] * rng.uniform(0.22, 0.45), 2)))
            rows["launch_day"].append(int(launch[i]))
            sup = _SUPPLIERS[cat]
            rows["supplier"].append(sup[rng.integers(len(sup))])
            rows["title_length"].append(int(rng.integers(18, 61)))
            rows["image_count"].append(int(images[i]))
            rows["has_video"].append(bool(video[i]))
            rows["description_length"].append(int(rng.integers(150, 3200)))
            rows["weight"].append(float(weight[i]))
    out = {k: np.array(v) for k, v in rows.items()}
    out["product_id"] = np.array([f"P{i + 1:04d}" for i in range(len(out["cat"]))], dtype=object)
    return out


def _pick_specials(products: dict) -> dict:
    """Products that carry the one-off effects (defect, price gap, stock-outs, fraud)."""
    cat, w, pre = products["cat"], products["weight"], products["launch_day"] < 0

    def ranked(c: int) -> list[int]:
        idx = np.flatnonzero((cat == CATS.index(c)) & pre)
        return [int(i) for i in idx[np.argsort(-w[idx], kind="stable")]]

    price_gap = [ranked("home")[1], ranked("haircare")[1]]
    stockout = [ranked("skincare")[0], ranked("apparel")[0], ranked("makeup")[0]]
    fraud = [ranked("electronics")[1], ranked("skincare")[5]]
    # the defect hits a best-seller of the largest category: enough reviews a week for a drop
    # to be told from noise (the top electronics product had only two or three)
    others = {*price_gap, *stockout, *fraud}
    defect = next(i for i in ranked("skincare") if i not in others)
    taken = {defect, *others}
    return {"defect": defect, "price_gap": price_gap, "stockout": stockout, "fraud": fraud, "taken": taken}


def _price_lists(list_cny: np.ndarray) -> np.ndarray:
    """Foreign list prices: fixed price lists set at the 2024-01-01 rate with a 20% cross-border markup."""
    out = np.zeros((len(CURRENCIES), len(list_cny)))
    out[0] = list_cny
    for k in range(1, len(CURRENCIES)):
        v = list_cny * 1.2 / FX_START[k]
        out[k] = np.round(v / 10) * 10 if k == JPY else np.floor(v) + 0.99
    return out


def _build_fx(rng: np.random.Generator) -> np.ndarray:
    """CNY per unit of each currency per day: small random walks plus the planted JPY move."""
    fx = np.ones((N_DAYS, len(CURRENCIES)))
    a, b = _day(FX_MOVE["start"]), _day(FX_MOVE["end"])
    for k in range(1, len(CURRENCIES)):
        walk = np.cumsum(rng.normal(0, 0.0012, N_DAYS))
        walk -= walk[0]
        fx[:, k] = FX_START[k] * np.exp(walk)
    ramp = np.clip((np.arange(N_DAYS) - a + 1) / (b - a + 1), 0, 1)
    fx[:, JPY] *= np.exp(np.log(1 + FX_MOVE["percent_change"] / 100) * ramp)
    return np.round(fx, 6)


# ------------------------------------------------------------------ stores and livestreams
_STORES = (  # name, city index, opened
    ("Shanghai Jing'an Flagship", 0, "2019-05-01"), ("Shanghai Xujiahui", 0, "2020-09-12"),
    ("Shanghai Wujiaochang", 0, "2022-04-30"), ("Hangzhou Hubin", 1, "2020-06-18"), ("Hangzhou Xixi", 1, "2025-04-26"),
    ("Nanjing Xinjiekou", 2, "2021-03-20"), ("Suzhou Guanqian", 3, "2021-10-01"), ("Ningbo Tianyi", 4, "2023-05-20"),
    ("Guangzhou Tianhe", 6, "2019-11-11"), ("Guangzhou Beijing Road", 6, "2022-08-08"),
    ("Shenzhen Nanshan", 7, "2020-12-12"), ("Shenzhen Qianhai", 7, "2025-06-28"),
    ("Xiamen Zhongshan Road", 9, "2022-01-15"),
    ("Beijing Sanlitun", 11, "2019-08-18"), ("Beijing Xidan", 11, "2021-04-18"), ("Beijing Wangjing", 11, "2023-09-09"),
    ("Tianjin Binjiang Road", 12, "2022-06-01"), ("Wuhan Jianghan Road", 15, "2020-10-01"),
    ("Wuhan Optics Valley", 15, "2023-03-08"), ("Changsha Wuyi Square", 16, "2021-12-24"),
    ("Chengdu Chunxi Road", 19, "2020-07-01"), ("Chengdu Taikoo Li", 19, "2024-09-20"),
    ("Chongqing Jiefangbei", 20, "2021-09-30"), ("Shenyang Taiyuan Street", 23, "2022-10-01"),
    ("Xi'an Bell Tower", 27, "2023-07-07"),
)


def _build_stores(rng: np.random.Generator) -> dict:
    n = len(_STORES)
    city = np.array([s[1] for s in _STORES])
    return {"store_id": np.array([f"S{i + 1:02d}" for i in range(n)], dtype=object),
            "name": np.array([s[0] + " Store" for s in _STORES], dtype=object),
            "city": city, "region": CITY_REGION[city],
            "open_day": np.array([_day(s[2]) for s in _STORES]),
            "area": np.round(rng.uniform(80, 420, n), 1)}


def _build_streams(rng: np.random.Generator, products: dict, specials: dict, scale: float,
                   n_blocks: int) -> tuple[np.ndarray, dict, pa.Table]:
    """KOLs, their promoted products and livestream sessions with expected orders and fees."""
    n_k = len(_KOLS)
    kol_products = np.zeros((n_k, 2), dtype=np.int64)
    for k, row in enumerate(_KOLS):
        cats = [CATS.index(c) for c in row[5]]
        cand = np.flatnonzero(np.isin(products["cat"], cats) & (products["launch_day"] < 0))
        cand = np.array([i for i in cand if int(i) not in specials["taken"]])
        order = cand[np.argsort(-products["weight"][cand], kind="stable")][:6]
        kol_products[k] = rng.choice(order, size=2, replace=False)
    kols = _arrow_table("kols", {
        "kol_id": [f"K{k + 1:02d}" for k in range(n_k)], "handle": ["@" + r[0] for r in _KOLS],
        "platform": [r[1] for r in _KOLS], "followers": [r[2] for r in _KOLS], "tier": [r[3] for r in _KOLS],
        "commission_rate": [r[4] for r in _KOLS]})
    rows = []
    for k in range(len(_KOLS)):
        n = int(rng.integers(28, 44))
        days = np.sort(rng.choice(np.arange(3, N_DAYS - 2), size=n, replace=False))
        for d in days:
            rows.append((k, int(d)))
    kol = np.array([r[0] for r in rows])
    day = np.array([r[1] for r in rows])
    order = np.lexsort((kol, day))
    kol, day = kol[order], day[order]
    n_s = len(kol)
    start = day * 86400 + rng.integers(19 * 3600, 20 * 3600 + 1800, n_s) // 60 * 60
    dur = rng.integers(120, 241, n_s) * 60
    viewers_exp = np.array([_KOLS[k][7] for k in kol]) * np.exp(rng.normal(0, 0.35, n_s)) * scale
    conv = np.array([_KOLS[k][8] for k in kol])
    lam = viewers_exp * conv
    channel = np.array([_CH[_KOLS[k][1]] for k in kol])
    price = products["list_price_cny"][kol_products[kol]].mean(1)
    exp_gmv = lam * (1 - CANCEL_P[channel]) * (1 + STREAM_QTY_EXTRA) * STREAM_PRICE * price
    roi = np.array([_KOLS[k][6] for k in kol])
    comm = np.array([_KOLS[k][4] for k in kol])
    noise = np.exp(rng.normal(-0.25 ** 2 / 2, 0.25, n_s))
    fee = np.round(exp_gmv * (1 / roi - comm) * noise, 2)
    viewers = np.maximum(1, np.round(viewers_exp)).astype(np.int64)
    peak = np.maximum(1, np.round(viewers * rng.uniform(0.15, 0.35, n_s))).astype(np.int64)
    streams = {"livestream_id": np.array([f"LS{i + 1:04d}" for i in range(n_s)], dtype=object), "kol": kol,
               "day": day, "start": start, "dur": dur, "lam": lam, "channel": channel, "viewers": viewers,
               "peak": peak, "fee": fee, "exp_gmv": exp_gmv}
    return kol_products, streams, kols


# ------------------------------------------------------------------ static tables
def _products_table(p: dict) -> pa.Table:
    return _arrow_table("products", {
        "product_id": p["product_id"], "category": np.array(CATS)[p["cat"]], "name": p["name"],
        "list_price_cny": p["list_price_cny"], "unit_cost_cny": p["unit_cost_cny"],
        "launch_date": _dates(p["launch_day"]), "supplier": p["supplier"], "title_length": p["title_length"],
        "image_count": p["image_count"], "has_video": p["has_video"], "description_length": p["description_length"]})


def _stores_table(s: dict) -> pa.Table:
    return _arrow_table("stores", {
        "store_id": s["store_id"], "name": s["name"], "city": [CITIES[c][0] for c in s["city"]],
        "region": np.array(REGIONS)[s["region"]], "opened_date": _dates(s["open_day"]), "area_sqm": s["area"]})


def _livestreams_table(s: dict) -> pa.Table:
    return _arrow_table("livestreams", {
        "livestream_id": s["livestream_id"], "kol_id": [f"K{k + 1:02d}" for k in s["kol"]],
        "channel": np.array(CHANNELS)[s["channel"]], "started_at": _ts(s["start"]),
        "ended_at": _ts(s["start"] + s["dur"]), "viewers": s["viewers"], "peak_viewers": s["peak"],
        "fee_cny": s["fee"]})


def _campaigns_table(camp: dict, mkt: dict) -> pa.Table:
    budget = [float(np.round(mkt["spend"][:, camp["campaign_of_day"] == j].sum(), 2)) for j in range(len(_CAMPAIGNS))]
    return _arrow_table("campaigns", {
        "campaign_id": [c[0] for c in _CAMPAIGNS], "name": [c[1] for c in _CAMPAIGNS],
        "kind": [c[2] for c in _CAMPAIGNS], "start_date": _dates([_day(c[3]) for c in _CAMPAIGNS]),
        "end_date": _dates([_day(c[4]) for c in _CAMPAIGNS]), "discount_rate": [c[5] for c in _CAMPAIGNS],
        "budget_cny": budget})


def _fx_table(fx: np.ndarray) -> pa.Table:
    day = np.repeat(np.arange(N_DAYS), len(CURRENCIES))
    cur = np.tile(np.array(CURRENCIES), N_DAYS)
    return _arrow_table("fx_rates", {"date": _dates(day), "currency": cur, "rate_to_cny": fx.ravel()})


# ================================================================== one block of customers
@dataclass
class _Acc:
    """Small daily aggregates summed over blocks."""

    orders_src: np.ndarray  # (N_DAYS, NCH, len(ORDER_SOURCES)) order counts
    mkt_orders: np.ndarray  # (N_DAYS, len(MARKETING_CHANNELS), NCH)
    mkt_gmv: np.ndarray
    units: np.ndarray  # (N_DAYS, P) units shipped (not cancelled)
    lost: np.ndarray  # (N_DAYS, P) units not sold because out of stock
    lost_expected: np.ndarray  # (N_DAYS, P) expected units lost, given the orders of the day
    refunded: np.ndarray  # (N_DAYS,) orders later fully refunded, by order day
    stream_gmv: np.ndarray  # (n_streams,) CNY, not cancelled
    repeat_n: np.ndarray  # (len(REPEAT_WINDOWS), NCH) first valid orders of new customers in each window's cohort
    repeat_expected: np.ndarray  # (len(REPEAT_WINDOWS), NCH) sum of their chances of another purchase in the window
    carrier_delivered: np.ndarray  # (len(CARRIERS),) shipments delivered (not lost, not in transit at the end)
    carrier_late_expected: np.ndarray  # (len(CARRIERS),) sum of those shipments' chances of being late
    fraud_accounts: int = 0
    fraud_orders: int = 0

    @classmethod
    def new(cls, w: _World) -> _Acc:
        P = len(w.products["product_id"])
        return cls(np.zeros((N_DAYS, NCH, len(ORDER_SOURCES)), np.int64),
                   np.zeros((N_DAYS, len(MARKETING_CHANNELS), NCH), np.int64),
                   np.zeros((N_DAYS, len(MARKETING_CHANNELS), NCH)), np.zeros((N_DAYS, P), np.int64),
                   np.zeros((N_DAYS, P), np.int64), np.zeros((N_DAYS, P)), np.zeros(N_DAYS, np.int64),
                   np.zeros(len(w.streams["kol"])), np.zeros((len(REPEAT_WINDOWS), NCH), np.int64),
                   np.zeros((len(REPEAT_WINDOWS), NCH)), np.zeros(len(CARRIERS), np.int64), np.zeros(len(CARRIERS)))


def _locate(w: _World, ch: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Operational times u of home channels ch -> (period day, fraction of the day, beyond the end)."""
    beyond = u >= w.tot[ch]
    g = w.off[ch] + np.minimum(u, w.tot[ch] * (1 - 1e-12))
    pos = np.searchsorted(w.gstart, g, side="right") - 1
    pos = np.clip(pos, ch * EXT, ch * EXT + EXT - 1)
    frac = np.clip((g - w.gstart[pos]) / w.m_flat[pos], 0.0, 1 - 1e-9)
    return pos - ch * EXT - BURN, frac, beyond


def _clock(w: _World, ch: np.ndarray, frac: np.ndarray) -> np.ndarray:
    """Fraction of a channel's day (in intensity) -> seconds after midnight, via the hour profile."""
    cdf = w.hour_cdf[ch]
    h = np.minimum((cdf[:, 1:-1] <= frac[:, None]).sum(1), 23)
    r = np.arange(len(ch))
    lo, hi = cdf[r, h], cdf[r, h + 1]
    within = np.clip((frac - lo) / np.maximum(hi - lo, 1e-12), 0, 1 - 1e-9)
    return ((h + within) * 3600).astype(np.int64)


def _people(rng: np.random.Generator, home: np.ndarray, arrival: np.ndarray, w: _World) -> dict:
    """Attributes of new customers: place, store, currency, spend level and purchase rhythm."""
    n = len(home)
    region = _choice(rng, REGION_W, n)
    pdd = home == PDD
    region[pdd] = _choice(rng, REGION_W_PDD, int(pdd.sum()))
    city = np.empty(n, np.int64)
    for r in range(len(REGIONS)):
        sel = np.flatnonzero(region == r)
        cities = np.flatnonzero(CITY_REGION == r)
        city[sel] = cities[_choice(rng, CITY_W[cities], len(sel))]
    store = np.full(n, -1)
    off = np.flatnonzero(home == OFFLINE)
    if off.size:
        st = w.stores
        ok = st["open_day"][None, :] <= arrival[off, None]
        ok[~ok.any(1), :] = st["open_day"] < 0  # arrivals before any store opened use the oldest stores
        probs = ok * st["area"][None, :]
        pick = _choice_rows(rng, probs)
        store[off] = pick
        city[off] = st["city"][pick]
        region[off] = st["region"][pick]
    cross = home == CROSS
    country = np.full(n, -1)
    nc = int(cross.sum())
    country[cross] = _choice(rng, np.array([c[2] for c in COUNTRIES]), nc)
    ccity = np.zeros(n, np.int64)
    ccity[cross] = (rng.random(nc) * np.array([len(COUNTRIES[c][5]) for c in country[cross]])).astype(np.int64)
    currency = np.zeros(n, np.int64)
    currency[cross] = COUNTRY_CUR[country[cross]]
    spend = np.exp(rng.normal(-0.18, 0.6, n)) * np.where(cross, 1.0, REGION_SPEND[region] / 1.06)
    gap_mean = GAP_MEAN_DAYS * np.exp(rng.normal(-0.06, 0.35, n))
    gender = _choice(rng, np.array([0.58, 0.35, 0.07]), n)
    birth = 2006 - np.minimum(rng.gamma(3.0, 4.5, n), 55).astype(np.int64)
    return {"home": home, "arrival": arrival, "region": region, "city": city, "store": store, "country": country,
            "ccity": ccity, "currency": currency, "spend": spend, "gap_mean": gap_mean, "gender": gender,
            "birth": birth, "tag": np.full(n, -1), "fraud": np.zeros(n, dtype=bool)}


def _arrivals(rng: np.random.Generator, w: _World, b: int) -> dict:
    """New customers of block b: regular arrivals (2022-2025) and livestream-acquired ones."""
    sc = w.scale / w.n_blocks
    homes, us = [], []
    for ch in range(NCH):
        n = rng.poisson(ARRIVALS_PER_DAY * ARRIVAL_SHARE[ch] * w.tot[ch] * sc)
        homes.append(np.full(n, ch))
        us.append(rng.uniform(0, w.tot[ch], n))
    # livestream-acquired customers: first purchase is inside the stream
    st = w.streams
    n_new = rng.poisson(st["lam"] * STREAM_NEW_SHARE / w.n_blocks)
    s_idx = np.repeat(np.arange(len(n_new)), n_new)
    s_ch = st["channel"][s_idx]
    ext = BURN + st["day"][s_idx]
    s_u = w.gstart[s_ch * EXT + ext] - w.off[s_ch] + 0.5 * w.m[s_ch, ext]
    home = np.concatenate(homes + [s_ch])
    u0 = np.concatenate(us + [s_u])
    day, _frac, _ = _locate(w, home, u0)
    people = _people(rng, home, day, w)
    people["u0"] = u0
    people["tag"][len(home) - len(s_idx):] = s_idx
    return people


def _logistics(rng: np.random.Generator, w: _World, ch: np.ndarray, region: np.ndarray, day: np.ndarray,
               first: np.ndarray) -> dict:
    """Fulfilment, cancellation, carrier and lateness of orders (needed inside the repeat loop)."""
    n = len(ch)
    ful = np.full(n, DELIVERY)
    ful[ch == OFFLINE] = IN_STORE
    o2o = np.isin(ch, (TMALL, JD, DOUYIN, WECHAT)) & ~first
    r = rng.random(n)
    ful[o2o & (r < 0.035)] = PICKUP
    ful[o2o & (r >= 0.035) & (r < 0.065)] = SFS
    cancel = (rng.random(n) < CANCEL_P[ch]) & (ful != IN_STORE)
    ships = ((ful == DELIVERY) | (ful == SFS)) & ~cancel
    mix = np.where((ful == SFS)[:, None], CARRIER_MIX_SFS[None, :], CARRIER_MIX[ch])
    carrier = _choice_rows(rng, mix)
    p_late = LATE_P[carrier] + CNY_SLOWDOWN_LATE * w.slowdown[np.clip(day, 0, N_DAYS - 1)]
    late = ships & (rng.random(n) < p_late)
    late_days = np.where(late, 0.05 + rng.gamma(1.6, LATE_SCALE[carrier]), 0.0)
    return {"ful": ful, "cancel": cancel, "carrier": carrier, "late": late, "late_days": late_days}


def _continue_p(home: np.ndarray, k: np.ndarray, late: np.ndarray) -> np.ndarray:
    """Chance that a customer buys again after their k-th purchase (higher after more purchases, lower after a
    late delivery)."""
    p = P_CONTINUE[home]
    p = p + (0.92 - p) * 0.2 * (1 - 0.7 ** (k - 1))
    odds = p / (1 - p) * np.where(late, LATE_CONTINUE_OR, 1.0)
    return odds / (1 + odds)


def _next_cancel_p(home: np.ndarray) -> np.ndarray:
    """Chance that a later (k ≥ 2) purchase of a customer of ``home`` is cancelled: its channel may switch
    (as in :func:`_repeat_loop`), and an offline store purchase is never cancelled."""
    switch = float(SWITCH_CHANNEL_P @ CANCEL_P[:len(SWITCH_CHANNEL_P)])
    online = (1 - SWITCH_P) * CANCEL_P[home] + SWITCH_P * switch
    offline = SWITCH_P_OFFLINE * (0.6 * CANCEL_P[WECHAT] + 0.4 * CANCEL_P[TMALL])
    return np.where(home == OFFLINE, offline, np.where(home == CROSS, CANCEL_P[CROSS], online))


def _cum_intensity(w: _World, home: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Operational time of channel ``home`` at the start of period day ``day`` (its total beyond the end)."""
    inside = day < N_DAYS
    pos = home * EXT + BURN + np.minimum(day, N_DAYS - 1)
    return np.where(inside, w.gstart[pos] - w.off[home], w.tot[home])


def _expected_repeats(w: _World, people: dict, ev: dict, acc: _Acc) -> None:
    """Add each cohort customer's chance of another valid purchase within each of :data:`REPEAT_WINDOWS` days of
    their first valid one to ``acc`` (no random draws: the data do not change).

    Two ways to buy again: the purchase rhythm (continue with :func:`_continue_p`, after a Gamma(1.6) gap in
    operational time; when that next purchase is cancelled, the one after it, Gamma(3.2)), and a livestream order
    of an existing customer (Poisson, each stream's expected orders of existing customers spread evenly over the
    customers active by then, as in :func:`_existing_stream_orders`). The customer's first order day must lie at
    least the window before the last day of data, as in the repeat-rate analysis.
    """
    from scipy.stats import gamma

    fv = people.get("first_valid")
    if not fv or not len(fv["home"]):
        return
    home, u, day, k, late, gm = fv["home"], fv["u"], fv["day"], fv["k"], fv["late"], fv["gap_mean"]
    # livestream orders of existing customers: expected valid orders per active customer on each day
    st = w.streams
    buyers = np.unique(ev["cust"]) if ev else np.zeros(0, np.int64)
    buyers = buyers[(people["home"][buyers] != CROSS) & ~people["fraud"][buyers]]
    active = np.searchsorted(np.sort(people["arrival"][buyers]), st["day"], side="left")
    per = np.where(active > 0, st["lam"] * (1 - STREAM_NEW_SHARE) / w.n_blocks * (1 - CANCEL_P[st["channel"]])
                   / np.maximum(active, 1), 0.0)
    per_day = np.bincount(np.clip(st["day"], 0, N_DAYS - 1), weights=per * (st["day"] >= 0), minlength=N_DAYS)
    cum_stream = np.concatenate([[0.0], np.cumsum(per_day)])
    p1, p2 = _continue_p(home, k, late), _continue_p(home, k + 1, np.zeros(len(k), dtype=bool))
    c = _next_cancel_p(home)
    for j, window in enumerate(REPEAT_WINDOWS):
        cohort = day <= N_DAYS - 1 - window
        if not cohort.any():
            continue
        h, d = home[cohort], day[cohort]
        lo = _cum_intensity(w, h, d + 1) - u[cohort]
        hi = _cum_intensity(w, h, d + 1 + window) - u[cohort]
        scale = gm[cohort] / 1.6
        one = gamma.cdf(hi, 1.6, scale=scale) - gamma.cdf(lo, 1.6, scale=scale)
        two = gamma.cdf(hi, 3.2, scale=scale) - gamma.cdf(lo, 3.2, scale=scale)
        cc = c[cohort]
        rhythm = p1[cohort] * ((1 - cc) * one + cc * p2[cohort] * (1 - cc) * two)
        stream = np.where(h == CROSS, 0.0, cum_stream[np.minimum(d + 1 + window, N_DAYS)] - cum_stream[d + 1])
        chance = 1 - (1 - rhythm) * np.exp(-stream)
        acc.repeat_n[j] += np.bincount(h, minlength=NCH)
        acc.repeat_expected[j] += np.bincount(h, weights=chance, minlength=NCH)


def _repeat_loop(rng: np.random.Generator, w: _World, people: dict) -> dict:
    """Run every customer's purchase renewal process; return the in-period purchase occasions."""
    n = len(people["home"])
    idx = np.arange(n)
    u = people["u0"].copy()
    k = np.ones(n, np.int64)
    out = []
    new_in_period = np.zeros(n, dtype=bool)  # first purchase inside the data: the repeat-rate cohort
    seen_valid = np.zeros(n, dtype=bool)
    firsts = []  # each cohort customer's first valid order, for the expected repeat rate in truth.json
    while idx.size:
        home = people["home"][idx]
        day, frac, beyond = _locate(w, home, u)
        keep = ~beyond
        idx, u, k, home, day, frac = idx[keep], u[keep], k[keep], home[keep], day[keep], frac[keep]
        if not idx.size:
            break
        inp = day >= 0
        late = rng.random(idx.size) < 0.09  # before 2024: only the continuation matters
        if inp.any():
            ii = np.flatnonzero(inp)
            ch = home[ii].copy()
            sw = (k[ii] > 1) & (rng.random(ii.size) < np.where(ch == OFFLINE, SWITCH_P_OFFLINE, SWITCH_P)) & (ch != CROSS)
            alt = np.where(ch[sw] == OFFLINE, np.where(rng.random(int(sw.sum())) < 0.6, WECHAT, TMALL),
                           _choice(rng, SWITCH_CHANNEL_P, int(sw.sum())))
            ch[sw] = alt
            lg = _logistics(rng, w, ch, people["region"][idx[ii]], day[ii], k[ii] == 1)
            late[ii] = lg["late"]
            new_in_period[idx[ii][k[ii] == 1]] = True
            first_valid = new_in_period[idx[ii]] & ~seen_valid[idx[ii]] & ~lg["cancel"]
            fv = ii[first_valid]
            seen_valid[idx[fv]] = True
            firsts.append({"home": home[fv], "u": u[fv], "day": day[fv], "k": k[fv], "late": lg["late"][first_valid],
                           "gap_mean": people["gap_mean"][idx[fv]]})
            out.append({"cust": idx[ii], "day": day[ii], "frac": frac[ii], "ch": ch, "home": home[ii], "k": k[ii],
                        **lg})
        cont = rng.random(idx.size) < _continue_p(home, k, late)
        gm = people["gap_mean"][idx[cont]]
        u = u[cont] + rng.gamma(1.6, gm / 1.6)
        idx, k = idx[cont], k[cont] + 1
    people["first_valid"] = _concat(firsts) if firsts else None
    if not out:
        return {}
    ev = _concat(out)
    ev["kind"] = np.zeros(len(ev["cust"]), np.int64)  # 0 regular, 1 livestream, 2 fraud
    ev["stream"] = np.where(ev["k"] == 1, people["tag"][ev["cust"]], -1)
    ev["kind"][ev["stream"] >= 0] = 1
    ev["sec"] = _clock(w, ev["ch"], ev["frac"])
    s = ev["stream"] >= 0
    st = w.streams
    ev["sec"][s] = (st["start"][ev["stream"][s]] % 86400
                    + (rng.random(int(s.sum())) * st["dur"][ev["stream"][s]]).astype(np.int64))
    return ev


def _existing_stream_orders(rng: np.random.Generator, w: _World, people: dict, ev: dict) -> dict | None:
    """Livestream orders placed by customers who already bought before (not part of their rhythm)."""
    st = w.streams
    n = rng.poisson(st["lam"] * (1 - STREAM_NEW_SHARE) / w.n_blocks)
    s_idx = np.repeat(np.arange(len(n)), n)
    if not s_idx.size or not ev:
        return None
    active = np.unique(ev["cust"])
    active = active[(people["home"][active] != CROSS) & ~people["fraud"][active]]
    arr = people["arrival"][active]
    order = np.argsort(arr, kind="stable")
    active, arr = active[order], arr[order]
    n_ok = np.searchsorted(arr, st["day"][s_idx], side="left")
    ok = n_ok > 0
    s_idx, n_ok = s_idx[ok], n_ok[ok]
    cust = active[(rng.random(s_idx.size) * n_ok).astype(np.int64)]
    day = st["day"][s_idx]
    ch = st["channel"][s_idx]
    lg = _logistics(rng, w, ch, people["region"][cust], day, np.ones(s_idx.size, dtype=bool))
    sec = st["start"][s_idx] % 86400 + (rng.random(s_idx.size) * st["dur"][s_idx]).astype(np.int64)
    return {"cust": cust, "day": day, "frac": np.zeros(s_idx.size), "ch": ch, "home": people["home"][cust],
            "k": np.full(s_idx.size, 2), **lg, "kind": np.ones(s_idx.size, np.int64), "stream": s_idx, "sec": sec}


def _fraud_ring(rng: np.random.Generator, w: _World, people: dict) -> tuple[dict, dict]:
    """Block 0 only: new accounts at one address using one coupon, all orders refunded."""
    n_acc = max(8, round(REFUND_SPIKE["accounts_per_scale"] * w.scale))
    a, b = _day(REFUND_SPIKE["start"]), _day(REFUND_SPIKE["end"])
    n_orders = np.minimum(2 + rng.poisson(1.2, n_acc), 6)
    first = rng.integers(a, b + 1, n_acc)
    home = np.full(n_acc, TMALL)
    fp = _people(rng, home, first, w)
    shenzhen = next(i for i, c in enumerate(CITIES) if c[0] == "Shenzhen")
    fp["region"][:] = CITY_REGION[shenzhen]
    fp["city"][:] = shenzhen
    fp["fraud"][:] = True
    fp["u0"] = np.zeros(n_acc)
    base = len(people["home"])
    cust = np.repeat(np.arange(n_acc), n_orders)
    day = np.maximum(first[cust], rng.integers(a, b + 1, cust.size))
    ch = np.full(cust.size, TMALL)
    lg = _logistics(rng, w, ch, fp["region"][cust], day, np.ones(cust.size, dtype=bool))
    lg["cancel"][:] = False
    lg["ful"][:] = DELIVERY
    ev = {"cust": cust + base, "day": day, "frac": np.zeros(cust.size), "ch": ch, "home": ch.copy(),
          "k": _positions(cust), **lg, "kind": np.full(cust.size, 2), "stream": np.full(cust.size, -1),
          "sec": rng.integers(9 * 3600, 24 * 3600, cust.size)}
    return fp, ev


# ------------------------------------------------------------------ baskets and money
def _draw_products(rng: np.random.Generator, w: _World, ch: np.ndarray, cat: np.ndarray) -> np.ndarray:
    out = np.empty(len(ch), np.int64)
    key = ch * NCAT + cat
    order = np.argsort(key, kind="stable")
    ks = key[order]
    bounds = np.flatnonzero(np.diff(ks)) + 1
    for grp in np.split(order, bounds):
        if not grp.size:
            continue
        c_, k_ = divmod(int(key[grp[0]]), NCAT)
        idx, cum = w.prod_cum[(c_, k_)]
        out[grp] = idx[np.minimum(np.searchsorted(cum, rng.random(grp.size), side="right"), len(idx) - 1)]
    return out


def _expected_loss(w: _World, ev: dict, lam: np.ndarray, acc: _Acc) -> None:
    """Expected units of out-of-stock products that the day's regular orders would have bought."""
    for d, p in zip(*np.nonzero(w.oos)):
        sel = np.flatnonzero((ev["day"] == d) & (ev["kind"] == 0))
        c = w.products["cat"][p]
        ch = ev["ch"][sel]
        pi = np.diff(w.cat_cum[ch, d], axis=1, prepend=0.0)[:, c]
        launched = (w.products["cat"] == c) & (w.products["launch_day"] <= d)  # draws of the others are redrawn
        prob = w.prod_prob[ch, p] / w.prod_prob[:, launched].sum(1)[ch]
        acc.lost_expected[d, p] += float(((1 + lam[sel]) * pi * prob).sum() * (1 + QTY_EXTRA[c]))


def _baskets(rng: np.random.Generator, w: _World, ev: dict, people: dict, acc: _Acc) -> tuple[dict, dict]:
    """Lines of every purchase occasion; drops lines of out-of-stock products and then empty orders."""
    n = len(ev["cust"])
    kind = ev["kind"]
    lam = np.where(kind == 0, people["spend"][ev["cust"]] * (w.lines_mean[ev["ch"], ev["day"]] - 1.0), 0.0)
    n_lines = np.minimum(1 + rng.poisson(np.maximum(lam, 0)), 8)
    _expected_loss(w, ev, lam, acc)
    o = np.repeat(np.arange(n), n_lines)
    ch, day, kd = ev["ch"][o], ev["day"][o], kind[o]
    nl = len(o)
    cat = np.zeros(nl, np.int64)
    prod = np.zeros(nl, np.int64)
    reg = np.flatnonzero(kd == 0)
    cum = w.cat_cum[ch[reg], day[reg]]
    cat[reg] = np.minimum((cum <= rng.random(reg.size)[:, None]).sum(1), NCAT - 1)
    prod[reg] = _draw_products(rng, w, ch[reg], cat[reg])
    launch = w.products["launch_day"]
    for _ in range(6):
        bad = reg[launch[prod[reg]] > day[reg]]
        if not bad.size:
            break
        prod[bad] = _draw_products(rng, w, ch[bad], cat[bad])
    bad = reg[launch[prod[reg]] > day[reg]]
    prod[bad] = w.cat_top[cat[bad]]
    sl = np.flatnonzero(kd == 1)
    prod[sl] = w.kol_products[w.streams["kol"][ev["stream"][o[sl]]], rng.integers(0, 2, sl.size)]
    fr = np.flatnonzero(kd == 2)
    prod[fr] = np.array(w.specials["fraud"])[rng.integers(0, len(w.specials["fraud"]), fr.size)]
    cat[sl], cat[fr] = w.products["cat"][prod[sl]], w.products["cat"][prod[fr]]
    qty = 1 + np.where(kd == 0, rng.poisson(QTY_EXTRA[cat]), np.where(kd == 1, rng.poisson(STREAM_QTY_EXTRA, nl), 0))
    P = w.oos.shape[1]
    oos = w.oos[day, prod]
    if oos.any():
        acc.lost += np.bincount(day[oos] * P + prod[oos], weights=qty[oos], minlength=N_DAYS * P).reshape(
            N_DAYS, P).astype(np.int64)
    keep_line = ~oos
    has = np.bincount(o[keep_line], minlength=n) > 0
    new_index = np.cumsum(has) - 1
    lines = {"o": new_index[o[keep_line]], "cat": cat[keep_line], "prod": prod[keep_line], "qty": qty[keep_line]}
    return _take(ev, np.flatnonzero(has)), lines


def _coupons(rng: np.random.Generator, w: _World, ev: dict, people: dict
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coupon code (index into the code list, -1 none) and the price multiplier it gives."""
    n = len(ev["cust"])
    codes = ["NEW10", "VIP5", REFUND_SPIKE["coupon_code"], *w.coupon_of_campaign]
    mult_of = np.array([0.95, 0.95, 0.80] + [0.95] * len(w.coupon_of_campaign))
    code = np.full(n, -1)
    r = rng.random(n)
    first_new = (ev["k"] == 1) & (people["arrival"][ev["cust"]] >= 0) & (ev["kind"] == 0)
    code[first_new & (r < 0.2)] = 0
    code[first_new & (r >= 0.2) & (r < 0.215)] = 2
    code[(ev["k"] >= 4) & (r < 0.10) & (ev["kind"] == 0)] = 1
    camp = w.campaign_of_day[ev["day"]]
    in_c = (camp >= 0) & (ev["kind"] == 0) & (code < 0) & (rng.random(n) < 0.35)
    code[in_c] = 3 + camp[in_c]
    code[ev["kind"] == 2] = 2
    mult = np.where(code >= 0, mult_of[np.maximum(code, 0)], 1.0)
    return code, np.array(codes, dtype=object), mult


def _prices(w: _World, ev: dict, lines: dict, people: dict, coupon_mult: np.ndarray) -> dict:
    """List and unit prices of lines in the order currency, and order-level money."""
    o = lines["o"]
    cur = people["currency"][ev["cust"]][o]
    ch, day, prod, cat, kd = ev["ch"][o], ev["day"][o], lines["prod"], lines["cat"], ev["kind"][o]
    ratio = np.where(kd == 1, STREAM_PRICE, w.price_idx[cat, day] * CHANNEL_PRICE[ch]) * w.gap[ch, prod]
    ratio = np.minimum(ratio * coupon_mult[o], 1.0)
    list_p = w.price_list[cur, prod]
    unit = _round_money(list_p * ratio, cur)
    n = len(ev["cust"])
    q = lines["qty"]
    ocur = people["currency"][ev["cust"]]
    gross = _round_money(np.bincount(o, q * list_p, minlength=n), ocur)
    paid = _round_money(np.bincount(o, q * unit, minlength=n), ocur)
    return {"list": list_p, "unit": unit, "gross": gross, "paid": paid,
            "discount": np.maximum(_round_money(gross - paid, ocur), 0.0), "cur": ocur}


# ------------------------------------------------------------------ follow-up tables
def _shipments(rng: np.random.Generator, w: _World, ev: dict, t: np.ndarray, units: np.ndarray,
               paid_cny: np.ndarray, people: dict) -> dict:
    """Shipment times, promise, delivery, status, costs; indexes into the block's orders."""
    n = len(t)
    ships = ((ev["ful"] == DELIVERY) | (ev["ful"] == SFS)) & ~ev["cancel"]
    cross = ev["ch"] == CROSS
    region = people["region"][ev["cust"]]
    camp = w.campaign_of_day[ev["day"]] >= 0
    slow = w.slowdown[ev["day"]]
    handling = np.exp(rng.normal(np.log(10 * 3600), 0.6, n)) + camp * 12 * 3600 + slow * 30 * 3600
    promise = np.where(cross, 10, np.where(ev["ful"] == SFS, 1, PROMISE_DAYS[region]))
    promised = (ev["day"] + promise) * 86400 + 22 * 3600
    shipped = np.minimum(t + handling.astype(np.int64), promised - 6 * 3600 - rng.integers(0, 6 * 3600, n))
    shipped = np.maximum(shipped, t + 600)
    on_time = shipped + ((promised - shipped) * rng.uniform(0.3, 0.95, n)).astype(np.int64)
    delivered = np.where(ev["late"], promised + (ev["late_days"] * 86400).astype(np.int64), on_time)
    r = rng.random(n)
    lost = r < LOST_P
    damaged = (r >= LOST_P) & (r < LOST_P + DAMAGED_P)
    written = ships & (shipped < END_T)
    in_transit = written & ~lost & (delivered >= END_T)
    status = np.where(lost, 2, np.where(damaged, 3, 1))
    status = np.where(in_transit, 0, status)
    has_delivery = written & ~lost & ~in_transit
    customs = shipped + ((np.where(has_delivery, delivered, shipped + 3 * 86400) - shipped)
                         * rng.uniform(0.3, 0.6, n)).astype(np.int64)
    country = people["country"][ev["cust"]]
    duty = np.where(cross, np.round(paid_cny * np.array([c[3] for c in COUNTRIES])[np.maximum(country, 0)], 2), 0.0)
    cost = np.round(CARRIER_COST[ev["carrier"]] * (1 + 0.12 * (units - 1)) * np.exp(rng.normal(0, 0.1, n)), 2)
    warehouse = np.where(cross, 0, REGION_WAREHOUSE[region])
    return {"ships": ships, "written": written, "shipped": shipped, "promised": promised, "delivered": delivered,
            "has_delivery": has_delivery, "lost": lost & written, "damaged": damaged & has_delivery,
            "status": status, "customs": customs, "duty": duty, "cost": cost, "warehouse": warehouse,
            "in_transit": in_transit}


def _returns(rng: np.random.Generator, w: _World, ev: dict, lines: dict, sh: dict, t: np.ndarray,
             unit: np.ndarray) -> dict:
    """Returned lines with reason, time and refund; refunds of every line make the order 'refunded'."""
    o = lines["o"]
    nl = len(o)
    cat, prod, ch = lines["cat"], lines["prod"], ev["ch"][o]
    received = (sh["has_delivery"] | ((ev["ful"] == IN_STORE) | (ev["ful"] == PICKUP)) & ~ev["cancel"])[o]
    defect = (prod == w.specials["defect"]) & (ev["day"][o] >= _day(DEFECT_DATE))
    p = RETURN_P[cat] * RETURN_CH[ch]
    late = ev["late"][o] & sh["has_delivery"][o]
    u = rng.random(nl)
    reason = np.full(nl, -1)
    base = received & (u < p)
    reason[base] = _choice_rows(rng, RETURN_REASON_P[cat[base]])
    extra_late = received & late & ~base & (u < p + 0.04)
    reason[extra_late] = _RR["late_delivery"]
    dfx = received & defect & (reason < 0) & (rng.random(nl) < 0.2)
    reason[dfx] = _RR["defect"]
    dmg = sh["damaged"][o]
    reason[dmg] = _RR["damaged_in_transit"]
    lost = sh["lost"][o]
    reason[lost] = _RR["other"]
    fraud = (ev["kind"] == 2)[o]
    reason[fraud] = np.where(rng.random(int(fraud.sum())) < 0.6, _RR["other"], _RR["changed_mind"])
    sel = np.flatnonzero(reason >= 0)
    amount = unit[sel] * lines["qty"][sel]
    partial = (reason[sel] == _RR["not_as_described"]) & (rng.random(sel.size) < 0.3)
    amount = np.where(partial, amount * rng.uniform(0.2, 0.5, sel.size), amount)
    base_t = np.where(sh["has_delivery"], sh["delivered"], np.where(sh["lost"], sh["promised"] + 4 * 86400, t))[o[sel]]
    delay = rng.gamma(1.6, 1.6, sel.size) * 86400
    delay = np.where(fraud[sel], rng.uniform(0.1, 1.5, sel.size) * 86400, delay)
    req = base_t + 1800 + delay.astype(np.int64)
    keep = req < END_T
    return {"line": sel[keep], "reason": reason[sel][keep], "amount": amount[keep], "t": req[keep],
            "full": ~partial[keep]}


def _review_texts(rng: np.random.Generator, rating: np.ndarray, en: np.ndarray, late: np.ndarray,
                  defect: np.ndarray) -> list[str]:
    n = len(rating)
    n_ph = 1 + (rng.random(n) < 0.6) + (rng.random(n) < 0.25)
    pick = rng.random((n, 3))
    late_pick = rng.random(n)
    texts = []
    for i in range(n):
        lang = "en" if en[i] else "zh"
        r = rating[i]
        pool = _PHRASES[(lang, "defect" if defect[i] and r <= 2 else "pos" if r >= 4 else "neu" if r == 3 else "neg")]
        chosen = []
        for j in range(n_ph[i]):
            ph = pool[int(pick[i, j] * len(pool))]
            if ph not in chosen:
                chosen.append(ph)
        if late[i] and r <= 3:
            lp = _PHRASES[(lang, "late")]
            chosen.append(lp[int(late_pick[i] * len(lp))])
        if lang == "zh":
            texts.append("，".join(chosen) + "。")
        else:
            s = ", ".join(chosen)
            texts.append(s[0].upper() + s[1:] + ".")
    return texts


def _reviews(rng: np.random.Generator, w: _World, ev: dict, lines: dict, sh: dict, t: np.ndarray) -> dict:
    """One review for about a fifth of received orders; rating drops with days late; defect batch."""
    n = len(t)
    received = sh["has_delivery"] | (((ev["ful"] == IN_STORE) | (ev["ful"] == PICKUP)) & ~ev["cancel"])
    bad_batch = np.zeros(n, dtype=bool)  # unhappy buyers of the bad batch review twice as often
    bad_batch[lines["o"][(lines["prod"] == w.specials["defect"]) & (ev["day"][lines["o"]] >= _day(DEFECT_DATE))]] = True
    p = REVIEW_P[ev["ch"]] * np.where(bad_batch, 2.0, 1.0)
    cand = np.flatnonzero(received & (ev["kind"] != 2) & (rng.random(n) < p))
    first_line = np.searchsorted(lines["o"], cand, side="left")
    n_lines = np.searchsorted(lines["o"], cand, side="right") - first_line
    line = first_line + (rng.random(cand.size) * n_lines).astype(np.int64)
    prod = lines["prod"][line]
    anchor = np.where(sh["has_delivery"][cand], sh["delivered"][cand], t[cand] + 2 * 3600)
    created = anchor + 3600 + (rng.gamma(1.2, 2.5, cand.size) * 86400).astype(np.int64)
    keep = created < END_T
    cand, line, prod, created = cand[keep], line[keep], prod[keep], created[keep]
    defect = (prod == w.specials["defect"]) & (ev["day"][cand] >= _day(DEFECT_DATE))
    base = np.where(defect, _choice(rng, RATING_P_DEFECT, cand.size), _choice(rng, RATING_P, cand.size)) + 1
    late_s = np.where(sh["has_delivery"][cand], (sh["delivered"][cand] - sh["promised"][cand]) / 86400, 0.0)
    late_days = np.clip(np.ceil(np.maximum(late_s, 0)), 0, RATING_CAP_DAYS).astype(np.int64)
    drop = rng.binomial(late_days, RATING_DROP_PER_LATE_DAY) + sh["damaged"][cand]
    rating = np.maximum(1, base - drop)
    en = ev["ch"][cand] == CROSS
    text = _review_texts(rng, rating, en, late_days > 0, defect)
    return {"order": cand, "prod": prod, "t": created, "rating": rating, "en": en, "text": text}


def _tickets(rng: np.random.Generator, w: _World, ev: dict, sh: dict, t: np.ndarray, ret: dict,
             lines: dict) -> dict:
    """Service tickets: why, when (hour-of-day pattern), response, resolution, satisfaction."""
    n = len(t)
    returned = np.zeros(n, dtype=bool)
    ret_t = np.zeros(n, np.int64)
    ro = lines["o"][ret["line"]]
    returned[ro] = True
    ret_t[ro] = ret["t"]
    late = ev["late"] & sh["has_delivery"]
    defect = np.zeros(n, dtype=bool)
    dl = (lines["prod"] == w.specials["defect"]) & (ev["day"][lines["o"]] >= _day(DEFECT_DATE))
    defect[lines["o"][dl]] = True
    normal = ev["kind"] != 2
    p = 0.035 + 0.22 * late + 0.28 * returned + 0.25 * defect
    sel = np.flatnonzero(normal & (rng.random(n) < p))
    m = sel.size
    other_names = list(TICKET_OTHER_P)
    other = np.array([_TC[c] for c in other_names])[_choice(rng, np.array(list(TICKET_OTHER_P.values())), m)]
    r = rng.random(m)
    cat = other.copy()
    cat = np.where(returned[sel] & (r < 0.75), _TC["return_refund"], cat)
    cat = np.where(~returned[sel] & late[sel] & (r < 0.7), _TC["delivery"], cat)
    cat = np.where(~returned[sel] & defect[sel] & (r < 0.7), _TC["product_quality"], cat)
    cat = np.where((cat == _TC["return_refund"]) & ~returned[sel], _TC["order_status"], cat)
    cat = np.where((cat == _TC["delivery"]) & ~sh["written"][sel], _TC["order_status"], cat)
    to = t[sel]
    hours = 3600
    anchor = to + (rng.uniform(2, 48, m) * hours).astype(np.int64)
    anchor = np.where(cat == _TC["pre_sale"], to - (rng.uniform(1, 48, m) * hours).astype(np.int64), anchor)
    anchor = np.where(cat == _TC["delivery"], np.where(late[sel], sh["promised"][sel] + 12 * hours,
                                                      sh["shipped"][sel] + 36 * hours), anchor)
    anchor = np.where(cat == _TC["return_refund"], ret_t[sel] + (rng.uniform(0, 24, m) * hours).astype(np.int64),
                      anchor)
    anchor = np.where(cat == _TC["product_quality"],
                      np.where(sh["has_delivery"][sel], sh["delivered"][sel], to) + 36 * hours, anchor)
    anchor = np.where(cat == _TC["invoice"], to + (rng.uniform(1, 10, m) * 86400).astype(np.int64), anchor)
    sec = (_choice(rng, HOURS_TICKET, m) * 3600 + rng.integers(0, 3600, m)).astype(np.int64)
    created = anchor // 86400 * 86400 + sec
    created = np.where((cat != _TC["pre_sale"]) & (created < anchor), created + 86400, created)
    created = np.where((cat == _TC["pre_sale"]) & (created > to), created - 86400, created)
    keep = (created >= 0) & (created < END_T)
    sel, cat, created = sel[keep], cat[keep], created[keep]
    m = sel.size
    med = np.array([TICKET_MEDIAN_HOURS[c] for c in TICKET_CATEGORIES])[cat]
    res_h = med * np.exp(rng.normal(0, 0.8, m))
    first_h = np.exp(rng.normal(np.log(0.5), 1.0, m))
    hod = created % 86400 / 3600
    first_h = np.where(hod < 8.5, first_h + (9 - hod), first_h)
    first_h = np.minimum(first_h, res_h * 0.9)
    first = created + (first_h * 3600).astype(np.int64)
    resolved = created + (res_h * 3600).astype(np.int64)
    open_ = (resolved >= END_T) | (rng.random(m) < 0.01)
    sat = np.clip(np.round(5.3 - 0.6 * np.log1p(res_h / 4) + rng.normal(0, 0.7, m)), 1, 5).astype(np.int64)
    sat_null = open_ | (rng.random(m) < 0.4)
    esc = rng.random(m) < 0.02 + 0.12 * (res_h > 72) + 0.05 * (cat == _TC["product_quality"])
    agent = rng.integers(1, N_AGENTS + 1, m)
    return {"order": sel, "cat": cat, "created": created, "first": first, "first_null": first >= END_T,
            "resolved": resolved, "open": open_, "sat": sat, "sat_null": sat_null, "esc": esc, "agent": agent}


# ------------------------------------------------------------------ personal data
def _names(rng: np.random.Generator, n: int, en: np.ndarray) -> list[str]:
    s = rng.integers(0, len(_SURNAMES), n)
    g1 = rng.integers(0, len(_GIVEN), n)
    g2 = rng.integers(0, len(_GIVEN), n)
    two = rng.random(n) < 0.45
    f = rng.integers(0, len(_FIRST_EN), n)
    la = rng.integers(0, len(_LAST_EN), n)
    return [f"{_FIRST_EN[f[i]]} {_LAST_EN[la[i]]}" if en[i]
            else _SURNAMES[s[i]] + _GIVEN[g1[i]] + (_GIVEN[g2[i]] if two[i] and len(_GIVEN[g1[i]]) == 1 else "")
            for i in range(n)]


def _phones(rng: np.random.Generator, n: int, country: np.ndarray) -> list[str]:
    pre = rng.integers(0, len(_PHONE_PREFIX), n)
    body = rng.integers(0, 100_000_000, n)
    fb = rng.integers(1_000_000, 10_000_000, n)
    return [f"{COUNTRIES[country[i]][4]} {fb[i]}" if country[i] >= 0 else f"{_PHONE_PREFIX[pre[i]]}{body[i]:08d}"
            for i in range(n)]


def _addresses(rng: np.random.Generator, n: int, city: np.ndarray, country: np.ndarray, ccity: np.ndarray) -> list[str]:
    d = rng.integers(0, len(_DISTRICTS), n)
    st = rng.integers(0, len(_STREETS), n)
    num = rng.integers(1, 400, n)
    bld = rng.integers(1, 30, n)
    room = rng.integers(1, 33, n) * 100 + rng.integers(1, 5, n)
    out = []
    for i in range(n):
        if country[i] >= 0:
            out.append(f"{num[i]} {_STREETS_EN[st[i] % len(_STREETS_EN)]}, {COUNTRIES[country[i]][5][ccity[i]]}, "
                       f"{COUNTRIES[country[i]][0]}")
        else:
            c = CITIES[city[i]]
            out.append(f"{c[1]}{c[2]}{_DISTRICTS[d[i]]}{_STREETS[st[i]]}{num[i]}号{bld[i]}栋{room[i]}室")
    return out


# ------------------------------------------------------------------ assembling a block
def _simulate_block(w: _World, b: int, acc: _Acc) -> dict[str, pa.Table]:
    """Simulate block b of customers and return its rows of every block table."""
    rng = _rng(w.seed, b)
    people = _arrivals(rng, w, b)
    ev = _repeat_loop(rng, w, people)
    parts = [ev] if ev else []
    extra = _existing_stream_orders(rng, w, people, ev)
    if extra is not None:
        parts.append(extra)
    _expected_repeats(w, people, ev, acc)
    people.pop("first_valid", None)
    if b == 0:
        fp, fev = _fraud_ring(rng, w, people)
        people = _concat([people, fp])
        parts.append(fev)
        acc.fraud_accounts += len(fp["home"])
    keys = parts[0].keys()
    ev = {k: np.concatenate([p[k] for p in parts]) for k in keys}
    ev.pop("frac")
    t = ev["day"] * 86400 + ev["sec"]  # a late-evening livestream can run past midnight
    ev["day"], ev["sec"] = t // 86400, t % 86400

    ev, lines = _baskets(rng, w, ev, people, acc)
    t = ev["day"] * 86400 + ev["sec"]
    order = np.argsort(t, kind="stable")
    ev = _take(ev, order)
    t = t[order]
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    lo = rank[lines["o"]]
    lorder = np.argsort(lo, kind="stable")
    lines = _take(lines, lorder)
    lines["o"] = lo[lorder]
    n = len(t)

    # customers kept: those with at least one order in the period
    kept = np.unique(ev["cust"])
    arr_order = np.lexsort((kept, people["arrival"][kept]))
    kept = kept[arr_order]
    new_id = np.full(len(people["home"]), -1)
    new_id[kept] = np.arange(kept.size)
    cust_ids = _ids("C", b, kept.size, 6)

    # stores for store-linked orders
    store = np.full(n, -1)
    instore = ev["ful"] == IN_STORE
    store[instore] = people["store"][ev["cust"][instore]]
    o2o = np.flatnonzero((ev["ful"] == PICKUP) | (ev["ful"] == SFS))
    if o2o.size:
        st = w.stores
        reg = people["region"][ev["cust"][o2o]]
        ok = (st["region"][None, :] == reg[:, None]) & (st["open_day"][None, :] <= ev["day"][o2o, None])
        store[o2o] = _choice_rows(rng, ok.astype(float))
    # an offline customer with no store yet (arrived before any store opened) buys in the oldest store
    store[instore & (store < 0)] = 0

    code, code_names, cmult = _coupons(rng, w, ev, people)
    money = _prices(w, ev, lines, people, cmult)
    o = lines["o"]
    fx_day = w.fx[ev["day"], money["cur"]]
    paid_cny = money["paid"] * fx_day
    units = np.bincount(o, lines["qty"], minlength=n).astype(np.int64)
    sh = _shipments(rng, w, ev, t, units, paid_cny, people)
    got = sh["has_delivery"]
    acc.carrier_delivered += np.bincount(ev["carrier"][got], minlength=len(CARRIERS))
    acc.carrier_late_expected += np.bincount(
        ev["carrier"][got], weights=LATE_P[ev["carrier"][got]] + CNY_SLOWDOWN_LATE * w.slowdown[ev["day"][got]],
        minlength=len(CARRIERS))
    ret = _returns(rng, w, ev, lines, sh, t, money["unit"])
    full_lines = np.bincount(o[ret["line"][ret["full"]]], minlength=n)
    refunded = (full_lines == np.bincount(o, minlength=n)) & (full_lines > 0)
    status = np.where(ev["cancel"], 3, np.where(refunded, 4, np.where(
        (sh["ships"] & ~sh["written"]), 0, np.where(sh["in_transit"] | sh["lost"], 1, 2))))
    rev = _reviews(rng, w, ev, lines, sh, t)
    tk = _tickets(rng, w, ev, sh, t, ret, lines)

    # order source and attribution
    src = _SRC["organic"] + np.zeros(n, np.int64)
    base_pick = _choice_rows(rng, BASE_SOURCES[ev["ch"]])
    src[:] = _BASE_SOURCE_CODES[base_pick]
    r_mc = w.r_mc[:, ev["day"]].T  # (n, mc)
    share = r_mc / (1 + r_mc.sum(1, keepdims=True))
    cum = np.cumsum(share, axis=1)
    u = rng.random(n)
    mc = np.where(u < cum[:, -1], np.minimum((cum <= u[:, None]).sum(1), cum.shape[1] - 1), -1)
    mc[(ev["kind"] != 0) | (ev["ch"] == OFFLINE)] = -1
    src = np.where(mc >= 0, MKT_SOURCE[np.maximum(mc, 0)], src)
    referrer = np.full(n, -1)
    ref = (ev["kind"] == 0) & (ev["k"] == 1) & (people["arrival"][ev["cust"]] >= 0) & (mc < 0) & (
        rng.random(n) < np.where(ev["ch"] == WECHAT, 0.2, np.where(ev["ch"] == TMALL, 0.03, 0.0)))
    if ref.any():
        pos = new_id[ev["cust"][ref]]
        ok = pos > 0
        ri = np.flatnonzero(ref)[ok]
        referrer[ri] = kept[(rng.random(ri.size) * pos[ok]).astype(np.int64)]
        src[ri] = _SRC["referral"]
    src[ev["ch"] == OFFLINE] = _SRC["in_store"]
    src[ev["kind"] == 1] = _SRC["livestream"]
    src[ev["kind"] == 2] = _SRC["organic"]

    # accumulators
    np.add.at(acc.orders_src, (ev["day"], ev["ch"], src), 1)
    m_ok = mc >= 0
    np.add.at(acc.mkt_orders, (ev["day"][m_ok], mc[m_ok], ev["ch"][m_ok]), 1)
    np.add.at(acc.mkt_gmv, (ev["day"][m_ok], mc[m_ok], ev["ch"][m_ok]), paid_cny[m_ok])
    P = acc.units.shape[1]
    live = ~ev["cancel"][o]
    acc.units += np.bincount(ev["day"][o][live] * P + lines["prod"][live], weights=lines["qty"][live],
                             minlength=N_DAYS * P).reshape(N_DAYS, P).astype(np.int64)
    acc.refunded += np.bincount(ev["day"][refunded], minlength=N_DAYS)
    s_ok = (ev["kind"] == 1) & ~ev["cancel"]
    acc.stream_gmv += np.bincount(ev["stream"][s_ok], paid_cny[s_ok], minlength=len(acc.stream_gmv))
    acc.fraud_orders += int((ev["kind"] == 2).sum())

    order_ids = _ids("O", b, n, 7)
    cust_of_order = cust_ids[new_id[ev["cust"]]]
    tables = {}
    tables["customers"] = _customers_table(rng, people, kept, cust_ids, ev, paid_cny, status)
    tables["orders"] = _orders_table(w, ev, t, order_ids, cust_of_order, status, money, sh, code, code_names, src,
                                     store, people, referrer, new_id, cust_ids)
    tables["order_items"] = _arrow_table("order_items", {
        "order_id": order_ids[o], "line_no": _positions(o), "product_id": w.products["product_id"][lines["prod"]],
        "quantity": lines["qty"], "unit_price": money["unit"], "list_price": money["list"]})
    ws = np.flatnonzero(sh["written"])
    cross = ev["ch"][ws] == CROSS
    dnull = ~sh["has_delivery"][ws]
    wh = np.array(WAREHOUSES, dtype=object)[sh["warehouse"][ws]]
    sfs = ev["ful"][ws] == SFS
    wh[sfs] = w.stores["name"][store[ws][sfs]]
    tables["shipments"] = _arrow_table("shipments", {
        "order_id": order_ids[ws], "carrier": np.array(CARRIERS, dtype=object)[ev["carrier"][ws]], "warehouse": wh,
        "shipped_at": _ts(sh["shipped"][ws]), "promised_at": _ts(sh["promised"][ws]),
        "delivered_at": _ts(np.where(dnull, 0, sh["delivered"][ws]), dnull),
        "status": np.array(("in_transit", "delivered", "lost", "damaged"), dtype=object)[sh["status"][ws]],
        "shipping_cost_cny": sh["cost"][ws],
        "customs_cleared_at": _ts(np.where(cross, sh["customs"][ws], 0), ~cross | (sh["customs"][ws] >= END_T)),
        "duty_cny": (np.where(cross, sh["duty"][ws], 0.0), ~cross)})
    ro = np.argsort(ret["t"], kind="stable")
    rl = ret["line"][ro]
    tables["returns"] = _arrow_table("returns", {
        "return_id": _ids("R", b, rl.size, 6), "order_id": order_ids[o[rl]],
        "product_id": w.products["product_id"][lines["prod"][rl]], "requested_at": _ts(ret["t"][ro]),
        "reason": np.array(RETURN_REASONS, dtype=object)[ret["reason"][ro]],
        "refund_amount": _round_money(ret["amount"][ro], money["cur"][o[rl]]),
        "currency": np.array(CURRENCIES, dtype=object)[money["cur"][o[rl]]]})
    vo = np.argsort(rev["t"], kind="stable")
    vord = rev["order"][vo]
    tables["reviews"] = _arrow_table("reviews", {
        "review_id": _ids("V", b, vo.size, 6), "order_id": order_ids[vord], "customer_id": cust_of_order[vord],
        "product_id": w.products["product_id"][rev["prod"][vo]],
        "channel": np.array(CHANNELS, dtype=object)[ev["ch"][vord]], "created_at": _ts(rev["t"][vo]),
        "rating": rev["rating"][vo], "text": np.array(rev["text"], dtype=object)[vo],
        "language": np.where(rev["en"][vo], "en", "zh")})
    to = np.argsort(tk["created"], kind="stable")
    tord = tk["order"][to]
    pre_sale = tk["cat"][to] == _TC["pre_sale"]
    tables["tickets"] = _arrow_table("tickets", {
        "ticket_id": _ids("T", b, to.size, 6), "customer_id": cust_of_order[tord],
        "order_id": (order_ids[tord], pre_sale), "channel": np.array(CHANNELS, dtype=object)[ev["ch"][tord]],
        "category": np.array(TICKET_CATEGORIES, dtype=object)[tk["cat"][to]], "created_at": _ts(tk["created"][to]),
        "first_response_at": _ts(tk["first"][to], tk["first_null"][to]),
        "resolved_at": _ts(tk["resolved"][to], tk["open"][to]),
        "satisfaction": (tk["sat"][to], tk["sat_null"][to]), "escalated": tk["esc"][to],
        "agent_id": np.array([f"AG{a:03d}" for a in tk["agent"][to]], dtype=object)})
    return tables


def _customers_table(rng: np.random.Generator, people: dict, kept: np.ndarray, cust_ids: np.ndarray, ev: dict,
                     paid_cny: np.ndarray, status: np.ndarray) -> pa.Table:
    n = kept.size
    pos = np.full(len(people["home"]), -1)
    pos[kept] = np.arange(n)
    ok = status != 3
    spend = np.bincount(pos[ev["cust"][ok]], paid_cny[ok], minlength=n)
    arrival = people["arrival"][kept]
    score = (spend + 1500 * np.maximum(0, -arrival) / 365) * np.exp(rng.normal(0, 0.35, n))
    tier = np.searchsorted(np.array([1200.0, 3500.0, 9000.0]), score, side="right")
    country = people["country"][kept]
    en = country >= 0
    region = np.where(en, np.array([c[0] for c in COUNTRIES], dtype=object)[np.maximum(country, 0)],
                      np.array(REGIONS, dtype=object)[people["region"][kept]])
    ccity = people["ccity"][kept]
    city = np.array([COUNTRIES[country[i]][5][ccity[i]] if en[i] else CITIES[people["city"][kept][i]][0]
                     for i in range(n)], dtype=object)
    birth = people["birth"][kept]
    birth_null = rng.random(n) < 0.15
    addr = _addresses(rng, n, people["city"][kept], country, ccity)
    fraud = people["fraud"][kept]
    if fraud.any():
        for i in np.flatnonzero(fraud):
            addr[i] = REFUND_SPIKE["address"]
    return _arrow_table("customers", {
        "customer_id": cust_ids, "signup_date": _dates(arrival),
        "acquisition_channel": np.array(CHANNELS, dtype=object)[people["home"][kept]], "region": region, "city": city,
        "gender": np.array(["f", "m", "unknown"], dtype=object)[people["gender"][kept]],
        "birth_year": (birth, birth_null), "member_tier": np.array(["none", "silver", "gold", "platinum"],
                                                                    dtype=object)[tier],
        "name": _names(rng, n, en), "phone": _phones(rng, n, country), "address": addr})


def _orders_table(w: _World, ev: dict, t: np.ndarray, order_ids: np.ndarray, cust_of_order: np.ndarray,
                  status: np.ndarray, money: dict, sh: dict, code: np.ndarray, code_names: np.ndarray,
                  src: np.ndarray, store: np.ndarray, people: dict, referrer: np.ndarray, new_id: np.ndarray,
                  cust_ids: np.ndarray) -> pa.Table:
    n = len(t)
    cur = money["cur"]
    cust = ev["cust"]
    cross = ev["ch"] == CROSS
    country = people["country"][cust]
    ccity = people["ccity"][cust]
    city_idx = np.where(store >= 0, w.stores["city"][np.maximum(store, 0)], people["city"][cust])
    region_idx = np.where(store >= 0, w.stores["region"][np.maximum(store, 0)], people["region"][cust])
    iso = np.array([c[0] for c in COUNTRIES], dtype=object)
    dom_city = np.array([c[0] for c in CITIES], dtype=object)[city_idx]
    cross_city = np.array([COUNTRIES[country[i]][5][ccity[i]] if cross[i] else "" for i in range(n)], dtype=object)
    ship_fee = np.where(((ev["ful"] == DELIVERY) | (ev["ful"] == SFS)) & (money["paid"] * w.fx[ev["day"], cur] < 99),
                        SHIP_FEE[ev["ch"]], 0.0)
    ship_fee = np.where(cross, _round_money(np.array([9.9, 8.9, 1200, 7.9, 12.9, 14.9])[
        np.maximum(COUNTRY_CUR[np.maximum(country, 0)] - 1, 0)] * 1.0, cur), ship_fee)
    camp = w.campaign_of_day[ev["day"]]
    camp_ids = np.array([c[0] for c in _CAMPAIGNS], dtype=object)
    s = ev["stream"]
    kol = np.where(s >= 0, w.streams["kol"][np.maximum(s, 0)], -1)
    ref_ok = referrer >= 0
    return _arrow_table("orders", {
        "order_id": order_ids, "customer_id": cust_of_order, "channel": np.array(CHANNELS, dtype=object)[ev["ch"]],
        "ordered_at": _ts(t), "status": np.array(("paid", "shipped", "completed", "cancelled", "refunded"),
                                                  dtype=object)[status],
        "currency": np.array(CURRENCIES, dtype=object)[cur], "gross_amount": money["gross"],
        "discount_amount": money["discount"], "paid_amount": money["paid"], "shipping_fee": ship_fee,
        "platform_fee": _round_money(money["paid"] * FEE_RATE[ev["ch"]], cur),
        "source": np.array(ORDER_SOURCES, dtype=object)[src],
        "fulfilment": np.array(FULFILMENT_TYPES, dtype=object)[ev["ful"]],
        "store_id": (w.stores["store_id"][np.maximum(store, 0)], store < 0),
        "country": np.where(cross, iso[np.maximum(country, 0)], "CN"),
        "region": np.where(cross, iso[np.maximum(country, 0)], np.array(REGIONS, dtype=object)[region_idx]),
        "city": np.where(cross, cross_city, dom_city),
        "campaign_id": (camp_ids[np.maximum(camp, 0)], camp < 0),
        "livestream_id": (w.streams["livestream_id"][np.maximum(s, 0)], s < 0),
        "kol_id": (np.array([f"K{k + 1:02d}" for k in range(len(_KOLS))], dtype=object)[np.maximum(kol, 0)], kol < 0),
        "coupon_code": (code_names[np.maximum(code, 0)], code < 0),
        "referrer_customer_id": (cust_ids[np.maximum(new_id[np.maximum(referrer, 0)], 0)], ~ref_ok)})


# ================================================================== tables written at the end
_FUNNEL = {  # traffic source: session->view, view->cart, cart->checkout, checkout->paid
    "organic_search": (0.62, 0.11, 0.45, 0.78), "paid_search": (0.55, 0.09, 0.42, 0.75),
    "social": (0.45, 0.07, 0.38, 0.72), "content": (0.58, 0.10, 0.44, 0.76), "livestream": (0.70, 0.16, 0.55, 0.80),
    "direct": (0.68, 0.14, 0.50, 0.82), "private_traffic": (0.72, 0.18, 0.55, 0.85),
}
_CHANNEL_CART = np.array([1.0, 1.0, 1.25, 0.85, 1.1, 1.6, 0.8])


def _traffic_table(rng: np.random.Generator, acc: _Acc) -> pa.Table:
    """Daily funnel per channel and source; paid orders add up to the day's orders of the channel."""
    c = acc.orders_src
    ts = {s: i for i, s in enumerate(TRAFFIC_SOURCES)}
    paid = np.zeros((N_DAYS, NCH, len(TRAFFIC_SOURCES)), np.int64)
    organic = c[..., _SRC["organic"]]
    search = rng.binomial(organic, 0.65)
    paid[..., ts["organic_search"]] = search
    paid[..., ts["direct"]] = organic - search + c[..., _SRC["in_store"]]
    paid[..., ts["paid_search"]] = c[..., _SRC["paid_search"]]
    paid[..., ts["social"]] = c[..., _SRC["social"]] + c[..., _SRC["referral"]]
    paid[..., ts["content"]] = c[..., _SRC["content"]]
    paid[..., ts["livestream"]] = c[..., _SRC["livestream"]]
    paid[..., ts["private_traffic"]] = c[..., _SRC["private_traffic"]]
    rows_ch, rows_src = [], []
    for ch in range(NCH):
        srcs = ("direct", "private_traffic") if ch == OFFLINE else TRAFFIC_SOURCES
        for s in srcs:
            rows_ch.append(ch)
            rows_src.append(ts[s])
    rows_ch, rows_src = np.array(rows_ch), np.array(rows_src)
    k = len(rows_ch)
    po = paid[:, rows_ch, rows_src]  # (day, k)
    floor = np.maximum(po.mean(0, keepdims=True) * 0.3, 0.5)
    rates = np.array([_FUNNEL[TRAFFIC_SOURCES[s]] for s in rows_src])  # (k, 4)
    noise = np.exp(rng.normal(0, 0.06, (N_DAYS, k, 4)))
    r4 = np.clip(rates[:, 3] * noise[..., 3], 0.05, 0.98)
    r3 = np.clip(rates[:, 2] * noise[..., 2], 0.05, 0.95)
    r2 = np.clip(rates[:, 1] * _CHANNEL_CART[rows_ch] * noise[..., 1], 0.01, 0.9)
    r1 = np.clip(rates[:, 0] * noise[..., 0], 0.05, 0.95)
    base = np.maximum(po, floor)
    checkouts = np.maximum(po, np.round(base / r4)).astype(np.int64)
    cart = np.maximum(checkouts, np.round(base / r4 / r3)).astype(np.int64)
    views = np.maximum(cart, np.round(base / r4 / r3 / r2)).astype(np.int64)
    sessions = np.maximum(views, np.round(base / r4 / r3 / r2 / r1)).astype(np.int64)
    day = np.repeat(np.arange(N_DAYS), k)
    return _arrow_table("traffic", {
        "date": _dates(day), "channel": np.array(CHANNELS, dtype=object)[np.tile(rows_ch, N_DAYS)],
        "source": np.array(TRAFFIC_SOURCES, dtype=object)[np.tile(rows_src, N_DAYS)],
        "sessions": sessions.ravel(), "product_views": views.ravel(), "add_to_cart": cart.ravel(),
        "checkouts": checkouts.ravel(), "paid_orders": po.ravel()})


def _marketing_table(rng: np.random.Generator, w: _World, acc: _Acc) -> pa.Table:
    """Spend rows with the ad platforms' own (generous) attribution."""
    mkt = w.truth_parts["mkt"]
    n_p = len(MKT_PAIRS)
    mc = np.array([_MC[p[0]] for p in MKT_PAIRS])
    ch = np.array([_CH[p[1]] for p in MKT_PAIRS])
    claim = np.exp(rng.normal(np.log(1.3), 0.15, (N_DAYS, n_p)))
    att_orders = np.round(acc.mkt_orders[:, mc, ch] * claim).astype(np.int64)
    att_gmv = np.round(acc.mkt_gmv[:, mc, ch] * claim, 2)
    camp = np.repeat(w.campaign_of_day, n_p)
    camp_ids = np.array([c[0] for c in _CAMPAIGNS], dtype=object)
    return _arrow_table("marketing_spend", {
        "date": _dates(np.repeat(np.arange(N_DAYS), n_p)),
        "marketing_channel": np.array(MARKETING_CHANNELS, dtype=object)[np.tile(mc, N_DAYS)],
        "channel": np.array(CHANNELS, dtype=object)[np.tile(ch, N_DAYS)],
        "campaign_id": (camp_ids[np.maximum(camp, 0)], camp < 0),
        "spend_cny": mkt["spend"].T.ravel(), "impressions": mkt["impressions"].T.ravel(),
        "clicks": mkt["clicks"].T.ravel(), "attributed_orders": att_orders.ravel(),
        "attributed_gmv_cny": att_gmv.ravel()})


def _stock_path(sold: np.ndarray, d0: int, d1: int, stock0: int, demand: np.ndarray,
                stock: np.ndarray, inbound: np.ndarray) -> None:
    """Simulate one product's closing stock on days d0..d1 (weekly review, order-up-to, 5-day lead time)."""
    s = 0
    pending: dict[int, int] = {d0: stock0}  # the opening stock arrives on the first day
    for d in range(d0, d1 + 1):
        inc = pending.pop(d, 0)
        need = int(sold[d])
        if s + inc < need:  # emergency delivery
            inc += need - (s + inc) + math.ceil(7 * demand[d])
        s = s + inc - need
        stock[d], inbound[d] = s, inc
        if d % 7 == 0 and not pending and s < 21 * demand[d]:
            pending[d + 5] = math.ceil(42 * demand[d]) - s


def _inventory_table(w: _World, acc: _Acc) -> tuple[pa.Table, list]:
    """Daily closing stock from the units sold; zero stock in the planted stock-out windows."""
    sold = acc.units
    P = sold.shape[1]
    launch = np.maximum(w.products["launch_day"], 0)
    csum = np.concatenate([np.zeros((1, P)), np.cumsum(sold, axis=0)])
    d = np.arange(N_DAYS)
    lo = np.maximum(d - 28, 0)
    trailing = (csum[d + 1] - csum[lo]) / (d + 1 - lo)[:, None]
    overall = np.maximum(sold.sum(0) / np.maximum(N_DAYS - launch, 1), 0.2)
    demand = np.maximum(trailing, 0.5 * overall[None, :])
    stock = np.zeros((N_DAYS, P), np.int64)
    inbound = np.zeros((N_DAYS, P), np.int64)
    windows = {p: (_day(a), _day(b)) for p, (a, b) in zip(w.specials["stockout"], STOCKOUT_WINDOWS)}
    for p in range(P):
        l0 = int(launch[p])
        s0 = math.ceil(35 * overall[p])
        if p not in windows:
            _stock_path(sold[:, p], l0, N_DAYS - 1, s0, demand[:, p], stock[:, p], inbound[:, p])
            continue
        a, b = windows[p]
        _stock_path(sold[:, p], l0, a - 1, s0, demand[:, p], stock[:, p], inbound[:, p])
        # run the stock down to zero on the eve of the window: last delivery on day D
        tail = np.cumsum(sold[l0:a, p][::-1])[::-1]  # units sold from each day to a-1
        D = l0
        for dd in range(a - 1, l0, -1):
            if tail[dd - l0] >= stock[dd - 1, p]:
                D = dd
                break
        before = stock[D - 1, p] if D > l0 else 0
        if D == l0:
            inbound[D, p] = 0
        inbound[D:a, p] = 0
        inbound[D, p] = tail[D - l0] - before
        stock[D:a, p] = before + np.cumsum(inbound[D:a, p] - sold[D:a, p])
        stock[a:b + 1, p] = 0
        inbound[a:b + 1, p] = 0
        _stock_path(sold[:, p], b + 1, N_DAYS - 1, math.ceil(42 * overall[p]), demand[:, p], stock[:, p],
                    inbound[:, p])
    opening = launch == 0  # stock carried over from 2023: the first row is an opening balance
    inbound[0, opening] = 0
    live = d[:, None] >= launch[None, :]
    dd, pp = np.nonzero(live)
    table = _arrow_table("inventory", {
        "date": _dates(dd), "product_id": w.products["product_id"][pp], "stock_on_hand": stock[dd, pp],
        "inbound_units": inbound[dd, pp]})
    info = []
    for p, (a, b) in windows.items():
        info.append({"product_id": str(w.products["product_id"][p]), "start": _iso(a), "end": _iso(b),
                     "lost_units_per_day": round(float(acc.lost_expected[a:b + 1, p].sum()) / (b - a + 1), 3),
                     "realized_lost_units_per_day": round(float(acc.lost[a:b + 1, p].sum()) / (b - a + 1), 3)})
    return table, info


# ================================================================== truth
def _campaign_ratio(series: np.ndarray, d0: int, d1: int, excluded: np.ndarray, weekday: np.ndarray) -> float:
    """Mean over days d0..d1 / weekday-matched mean over the 28 days either side (excluded days left out)."""
    days = np.arange(d0, d1 + 1)
    near = np.r_[np.arange(d0 - 28, d0), np.arange(d1 + 1, d1 + 29)]
    near = near[(near >= 0) & (near < N_DAYS)]
    near = near[~excluded[near]]
    base_by_wd = {wd: series[near[weekday[near] == wd]].mean() for wd in range(7) if (weekday[near] == wd).any()}
    overall = series[near].mean()
    base = np.mean([base_by_wd.get(int(weekday[d]), overall) for d in days])
    return float(series[days].mean() / base)


def _truth(w: _World, acc: _Acc, counts: dict, stock_info: list) -> dict:
    """The truth dictionary: run facts, row counts and every planted effect with its value."""
    tp = w.truth_parts
    camp, m, specials, products = tp["camp"], tp["m"], tp["specials"], tp["products"]
    pid = products["product_id"]
    weekday = w.weekday[BURN:]
    # expected daily orders (all channels) from the intensity, weighted by each channel's lifetime orders
    weight = ARRIVAL_SHARE / (1 - P_CONTINUE)
    series = (weight[:, None] * m[:, BURN:]).sum(0)
    holiday = camp["holiday"][BURN:]
    excluded = (camp["campaign_of_day"] >= 0) | camp["dip_days"] | holiday
    campaigns = {}
    for cid, _name, kind, a, b, disc, uplift, dipm in _CAMPAIGNS:
        d0, d1 = _day(a), _day(b)
        entry = {"kind": kind, "start": a, "end": b, "discount_rate": disc, "planted_multiplier": uplift,
                 "expected_ratio": round(_campaign_ratio(series, d0, d1, excluded, weekday), 4), "pre_dip": None}
        if dipm is not None:
            entry["pre_dip"] = {"start": _iso(d0 - PRE_DIP_DAYS), "end": _iso(d0 - 1), "multiplier": dipm,
                                "expected_ratio": round(_campaign_ratio(series, d0 - PRE_DIP_DAYS, d0 - 1, excluded,
                                                                        weekday), 4)}
        campaigns[cid] = entry
    holidays = []
    for f in CNY_FESTIVALS[2:]:
        fd = _day(f)
        holidays.append([_iso(fd + CNY_HOLIDAY[0]), _iso(fd + CNY_HOLIDAY[1])])
    slowdowns = [[_iso(max(0, _day(f) + CNY_SLOWDOWN[0])), _iso(_day(f) + CNY_SLOWDOWN[1])] for f in CNY_FESTIVALS[2:]]

    orders_day = acc.orders_src.sum((1, 2))
    a, b = _day(REFUND_SPIKE["start"]), _day(REFUND_SPIKE["end"])
    y25 = np.arange(_day("2025-01-01"), N_DAYS)
    outside = y25[(y25 < a) | (y25 > b)]
    inside = np.arange(a, b + 1)
    base_rate = acc.refunded[outside].sum() / max(orders_day[outside].sum(), 1)
    spike_rate = acc.refunded[inside].sum() / max(orders_day[inside].sum(), 1)

    kol_ids = [f"K{k + 1:02d}" for k in range(len(_KOLS))]
    roi = {kol_ids[k]: r[6] for k, r in enumerate(_KOLS)}
    stars = np.arange(1, 6)
    effects = {
        "price_elasticity": {
            "description": "Own-price elasticity of each category's daily units (log-log), planted in the basket "
                           "choice: weight = share x price_index^elasticity.",
            "by_category": {c: float(e) for c, e in zip(CATS, ELASTICITY)},
            "method_hint": "Per category and day: units = sum(quantity), price_index = sum(quantity*unit_price) / "
                           "sum(quantity*list_price), excluding KOL livestream orders (livestream_id set; fixed "
                           "stream price) and orders with the refund_spike coupon. Regress log(units) on "
                           "C(category) + C(category):log(price_index) + day fixed effects (C(date)). Day fixed "
                           "effects are needed: campaign days move volume and prices together, so a single "
                           "campaign dummy is not enough.",
            "price_variation": "weekly price regimes per category (x0.88 x exp(U(-0.13, 0.13))) and campaign "
                               "discounts of discount_rate x U(0.6, 1.4) per category",
        },
        "campaign_uplift": {
            "description": "Daily orders during each campaign vs. the counterfactual baseline (planted multiplier "
                           "on the order intensity, incl. the campaign's marketing burst), and the pull-forward dip "
                           "in the 7 days before 618 and Double 11.",
            "baseline_rule": "expected_ratio = mean daily orders over the campaign days / weekday-matched mean over "
                             "the 28 days before and after, leaving out campaign days, pre-campaign dips and "
                             "Spring Festival holidays; KOL livestream orders (livestream_id set) and orders "
                             "with the refund_spike coupon are left out of the counts",
            "campaigns": campaigns,
            "spring_festival_holidays": holidays,
            "spring_festival_multiplier": CNY_HOLIDAY_MULT,
        },
        "growth": {"description": "Growth of the order intensity per year; orders grow somewhat faster in 2024-25 "
                                  "because the loyal customer base is still building up.", "annual_growth": 0.32},
        "late_carrier": {
            "description": "SwiftPost delivers late far more often than the other carriers "
                           "(late = delivered_at > promised_at).",
            "carrier": "SwiftPost",
            "late_probability": {c: float(p) for c, p in zip(CARRIERS, LATE_P)},
            "expected_on_time_rate_all_days": {
                c: round(1 - float(e) / n, 4) for c, e, n in zip(CARRIERS, acc.carrier_late_expected,
                                                                  acc.carrier_delivered) if n},
            "estimands": {
                "late_probability": "a carrier's chance of being late outside the Spring Festival slowdowns: compare "
                                    "with the on-time rate of orders placed outside them (1 - late_probability)",
                "expected_on_time_rate_all_days": "the on-time rate the page shows (all delivered shipments, "
                                                  "slowdowns included): 1 - the mean chance of being late of the "
                                                  "carrier's delivered shipments, given their order days",
            },
            "spring_festival_slowdowns": slowdowns,
            "extra_late_probability_in_slowdown": CNY_SLOWDOWN_LATE,
        },
        "delay_effect": {
            "description": "Each day late lowers the rating of that order's review (Binomial(days late, 0.4) "
                           "stars, days capped at 5), and a late order lowers the odds that the customer buys "
                           "again.",
            "rating_per_late_day": -RATING_DROP_PER_LATE_DAY,
            "cap_days": RATING_CAP_DAYS,
            "late_days_definition": "ceil((delivered_at - promised_at) in days), 0 when on time, capped at 5",
            "repeat_odds_ratio_if_late": LATE_CONTINUE_OR,
        },
        "kol_roi": {
            "description": "ROI of each KOL = attributed GMV (CNY, orders with that kol_id, not cancelled) / "
                           "(sum of livestream fees + commission_rate x attributed GMV).",
            "roi": roi,
            "best": kol_ids[int(np.argmax([r[6] for r in _KOLS]))],
            "worst": kol_ids[int(np.argmin([r[6] for r in _KOLS]))],
        },
        "churn_by_channel": {
            "description": "Probability that a customer buys again after the first order, by acquisition channel "
                           "(later orders are more likely to be followed by another one).",
            "continuation_probability": {c: float(p) for c, p in zip(CHANNELS, P_CONTINUE)},
            "mean_gap_days": GAP_MEAN_DAYS,
            **{f"expected_repeat_rate_{window}d": {
                c: round(float(e) / n, 4) for c, e, n in zip(CHANNELS, acc.repeat_expected[j], acc.repeat_n[j]) if n}
               for j, window in enumerate(REPEAT_WINDOWS)},
            **{f"cohort_customers_{window}d": {c: int(n) for c, n in zip(CHANNELS, acc.repeat_n[j]) if n}
               for j, window in enumerate(REPEAT_WINDOWS)},
            "estimands": {
                "continuation_probability": "the generator's parameter: the chance of another purchase after the "
                                            "first one, ever, on time; no analysis reports it directly",
                "expected_repeat_rate_<W>d": "what the repeat-rate analysis (retention_by_channel, window W days) "
                                             "estimates: among customers who signed up within the data and whose "
                                             "first valid order lies at least W days before the last day, the "
                                             "mean chance of another valid purchase day within W days of it "
                                             "(purchase rhythm, a late first delivery, a cancelled next order, "
                                             "and livestream orders of existing customers included)",
            },
        },
        "fx_move": {
            "description": f"{FX_MOVE['currency']} falls against CNY as a linear ramp over the window; foreign "
                         "price lists are fixed, so cross-border revenue in CNY falls with it.",
            **FX_MOVE,
        },
        "refund_spike": {
            "description": "Fraud ring: new accounts sharing one address and one coupon order during the window "
                           "and every order is refunded (reasons other/changed_mind).",
            "start": REFUND_SPIKE["start"], "end": REFUND_SPIKE["end"],
            "coupon_code": REFUND_SPIKE["coupon_code"], "shared_address": REFUND_SPIKE["address"],
            "accounts": int(acc.fraud_accounts), "fraud_orders": int(acc.fraud_orders),
            "baseline_refund_rate": round(float(base_rate), 4), "spike_refund_rate": round(float(spike_rate), 4),
            "rate_definition": "orders with status 'refunded' / all orders, by order date; baseline = 2025 "
                               "outside the window",
        },
        "sentiment_drop": {
            "description": "A bad batch: orders of this product placed on or after the date get low ratings with "
                           "negative quality/defect texts, and many more returns with reason 'defect'.",
            "product_id": str(pid[specials["defect"]]), "date": DEFECT_DATE,
            "mean_rating_before": round(float((stars * RATING_P).sum()), 3),
            "mean_rating_after": round(float((stars * RATING_P_DEFECT).sum()), 3),
            "negative_share_before": round(float(RATING_P[:2].sum()), 3),
            "negative_share_after": round(float(RATING_P_DEFECT[:2].sum()), 3),
            "negative_definition": "rating <= 2 (before any delivery-delay effect)",
            "extra_defect_return_probability_after": 0.2,
        },
        "slow_support_category": {
            "description": "Tickets about returns/refunds take far longer to resolve (lognormal, sigma 0.8).",
            "category": "return_refund",
            "median_resolution_hours": dict(TICKET_MEDIAN_HOURS),
        },
        "stockouts": {
            "description": "Products out of stock (stock_on_hand = 0) in these windows sell nothing; the orders "
                           "that would have bought them lose that line. lost_units_per_day is the expectation "
                           "given the day's orders, realized_lost_units_per_day what the draws gave.",
            "items": stock_info,
        },
        "marketing_response": {
            "description": "Spend feeds the order intensity of all channels: multiplier 1 + sum over marketing "
                           "channels of beta x (1 - exp(-adstock / gamma)), adstock_t = spend_t + lambda x "
                           "adstock_(t-1) (spend summed over sales channels).",
            "by_marketing_channel": {mc: {"beta": v[1], "gamma_cny": round(v[2] * w.scale, 2), "lambda": v[3]}
                                     for mc, v in MKT.items()},
        },
        "listing_quality": {
            "description": "Product choice weight x (1 + 0.08) per listing image up to 8 images, x 1.25 with a "
                           "video; title_length has no effect.",
            "image_effect_per_image": IMAGE_EFFECT, "image_cap": IMAGE_CAP, "video_effect": VIDEO_EFFECT,
            "title_length_effect": 0.0,
        },
        "price_gap": {
            "description": "These products sell on pinduoduo at ~18% below their price in the other channels.",
            "channel": "pinduoduo",
            "products": [str(pid[p]) for p in specials["price_gap"]],
            "price_ratio_vs_other_channels": PRICE_GAP,
        },
    }
    return {"seed": w.seed, "scale": w.scale, "start": str(START), "end": str(END), "timezone": DEFAULT_TIMEZONE,
            "reporting_currency": REPORTING_CURRENCY, "row_counts": dict(sorted(counts.items())), "effects": effects}


# ================================================================== entry point
def generate(out: str | Path, seed: int = 20240101, scale: float = 1.0) -> dict:
    """Write the sample shop to ``out`` and return its truth.

    ``out`` is a folder (created if missing); every table of the model is written
    as ``<out>/<table>.parquet`` and the planted effects as ``<out>/truth.json``.
    ``scale`` multiplies customer and order volumes (1 is about 100,000 orders);
    the catalogue, stores, KOLs and campaigns do not change with it. The same
    ``seed`` and ``scale`` give byte-identical files. Returns the truth dictionary
    (seed, scale, period, time zone, row counts per table and the planted effects).
    """
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    seed = int(seed)
    world = _build_world(seed, float(scale))
    acc = _Acc.new(world)
    counts = {name: 0 for name in TABLES}
    writers = {name: _writer(out / f"{name}.parquet", name) for name in BLOCK_TABLES}
    try:
        for b in range(world.n_blocks):
            for name, table in _simulate_block(world, b, acc).items():
                if table.num_rows:
                    writers[name].write_table(table)
                    counts[name] += table.num_rows
    finally:
        for wr in writers.values():
            wr.close()
    end_rng = _rng(seed, STATIC + 9)
    inventory, stock_info = _inventory_table(world, acc)
    final = dict(world.static_tables)
    final["traffic"] = _traffic_table(end_rng, acc)
    final["marketing_spend"] = _marketing_table(end_rng, world, acc)
    final["inventory"] = inventory
    for name, table in final.items():
        _write_table(out, name, table)
        counts[name] = table.num_rows
    truth = _truth(world, acc, counts, stock_info)
    text = json.dumps(truth, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    (out / "truth.json").write_text(text, encoding="utf-8")
    return json.loads(text)
