"""Brand and reputation: ratings, the sentiment of review text, what complaints are about, a promoter score.

What goes in: a :class:`~workbench.data.loader.Dataset` with ``reviews`` (and ``products`` for
categories) and :class:`~workbench.sql.common.Filters`. What comes out: tidy frames and small
result objects with intervals and sample sizes.

Sentiment method (stated, so a reader can check it)
--------------------------------------------------
A lexicon count with negation and intensifiers, the same for both languages:

* Chinese text is segmented with **jieba** (precise mode, a private tokenizer with the lexicon
  words added so that they stay whole); English text is lower-cased and split on letters.
* Each token found in the positive (negative) lexicon scores +1 (−1), times 1.5 when one of
  the two tokens before it is an intensifier (很, 非常, 太, very, really ...), and with its sign
  flipped when one of the three tokens before it is a negation (不, 没, 别, not, never, n't ...).
* The text's sentiment is (positive − negative) / (positive + negative) in [−1, 1]; a text
  without lexicon words scores 0 and counts as "not covered".

The lexicons (:data:`ZH_POSITIVE`, :data:`ZH_NEGATIVE`, :data:`EN_POSITIVE`, :data:`EN_NEGATIVE`)
are small and aimed at product reviews. Ratings check the method: :func:`sentiment_agreement`
reports Spearman's correlation with the stars and how often the polarity agrees with them.

Drops beyond normal variation are found per product with a one-sided CUSUM on review
sentiment standardised by the product's own baseline (Page 1954; k = 0.5, h = :data:`CUSUM_H`);
the change date is the last day the CUSUM stood at zero before it crossed ``-h``.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
import pandas as pd

from workbench.data.loader import Dataset
from workbench.errors import EmptyPeriodError
from workbench.sql.common import Filters
from workbench.stats import pct_change, wilson_interval

NEEDS = {"reviews": ["rating", "created_at", "product_id"]}
NEEDS_TEXT = {"reviews": ["rating", "created_at", "product_id", "text"]}
NEEDS_CHANNEL = {"reviews": ["rating", "created_at", "channel"]}
NEGATIVE_STARS = 2          # ratings at or below are negative reviews
CUSUM_K, CUSUM_H = 0.5, 12.0
DROP_Z = 3.5                # an alarm is kept when the drop is this many standard errors below the baseline
HISTORY_DAYS = 182

ZH_POSITIVE = frozenset("""
好 棒 赞 好用 好看 好吃 喜欢 满意 推荐 值得 划算 实惠 优秀 完美 不错 舒服 舒适 柔软 漂亮 精致 惊喜 超值 回购 必买 给力
清爽 滋润 正品 快 很快 及时 专业 耐心 热情 周到 贴心 靠谱 放心 结实 耐用 合身 合适 效果好 质量好 好评 五星 物美价廉 性价比高
流畅 方便 细腻 香 新鲜 高级 大气 喜爱 开心 感谢 支持 信赖 满分 优质 顺滑 稳定 省心 整洁 完好 干净
精美 一致 有面子 效果明显 好评如潮 物超所值
""".split())
ZH_NEGATIVE = frozenset("""
差 坏 烂 慢 贵 丑 假 差评 失望 后悔 垃圾 退货 退款 破损 损坏 坏了 漏 漏液 起球 掉色 褪色 开线 异味 刺鼻 过敏 发霉 变质 过期
难用 难看 难吃 粗糙 劣质 山寨 假货 次品 瑕疵 缺陷 故障 问题 投诉 欺骗 忽悠 敷衍 态度差 不满 不满意 不推荐 不值 不好 差劲 糟糕
卡顿 发热 断 裂 裂开 变形 缩水 掉 脱落 生锈 污渍 脏 旧 二手 少发 错发 漏发 延误 太慢 迟迟 没收到 丢件 无语 坑 上当 气愤 恶心
麻烦 严重 毛病 松动 噪音 漏水 掉漆 偏小 偏大 不合适 起皮 不符 色差 不灵 失灵 没用 无效 慢吞吞
太差 不理人 不一样 货不对板 石沉大海
""".split())
#: words kept whole so that a sentiment word after them is not glued to them (想象中|好, not 想象|中好)
ZH_SEGMENT_HINTS = frozenset("想象中 预期中 描述中 图片中".split())
ZH_NEGATIONS = frozenset("不 没 没有 无 别 未 不是 并不 从不 毫无 不太 不够 不会".split())
ZH_INTENSIFIERS = frozenset("很 非常 太 特别 超 超级 十分 极其 相当 真 真的 挺 最 好 巨 贼 超赞".split())
EN_POSITIVE = frozenset("""
good great excellent love loved lovely perfect nice happy satisfied recommend recommended amazing awesome fast quick
comfortable soft beautiful fine worth value best better fantastic wonderful pleased helpful friendly sturdy durable
genuine authentic fresh smooth easy favourite favorite reliable superb gorgeous cute neat five-star
""".split())
EN_NEGATIVE = frozenset("""
bad poor terrible awful horrible broken broke break breaks damaged defect defective faulty disappointed disappointing
disappointment worst worse slow late cheap flimsy fake refund return returned returning waste useless leak leaked leaking
smell smells stink rash allergic itchy fell faded fade tear torn ripped crack cracked stopped problem problems
issue issues complaint rude wrong missing never unhappy regret overpriced expensive scratched scratch dirty stained
fraud scam uncomfortable rough ugly wobbly loose noisy failed fail fails peeling cheaply pricey forever
shoddy
""".split())
EN_NEGATIONS = frozenset("not no never don't doesn't didn't isn't wasn't aren't won't can't cannot hardly n't without".split())
EN_INTENSIFIERS = frozenset("very really so extremely super too absolutely totally quite highly truly".split())
ZH_STOPWORDS = frozenset("""
的 了 是 我 也 就 都 而 及 与 着 或 一个 没有 我们 你们 他们 这个 那个 这 那 在 有 和 还 又 吧 啊 呢 吗 哦 呀 么 个 很 非常 太
特别 真的 真 挺 就是 但是 不过 还是 然后 因为 所以 如果 已经 一下 一点 有点 感觉 觉得 东西 商品 产品 宝贝 买 用 收到 给 说 次
这次 还有 比较 一直 可以 没 不 会 能 要 让 被 把 到 后 天 两天 几天 上 下 里 对 等 人 时候 什么 怎么 自己 这样
""".split())
EN_STOPWORDS = frozenset("""
a an the and or but if then so to of in on at for with by from it its it's this that these those is was were be been
being am are i me my we our you your he she they them their have has had do does did as just very really too also
after before again still only about up down out over all any some more most much can will would could should there
here what which who when where why how than item product order bought buy one two get got
""".split())



# ------------------------------------------------------------------------------------------------
# text sentiment
# ------------------------------------------------------------------------------------------------
_CJK = re.compile(r"[\u4e00-\u9fff]")
_EN_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?(?:-[a-z]+)?")


def detect_language(text: str) -> str:
    """``zh`` when the text holds a Chinese character, else ``en``."""
    return "zh" if _CJK.search(text or "") else "en"


@lru_cache(maxsize=1)
def _zh_tokenizer():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tk = jieba.Tokenizer()
    for word in ZH_POSITIVE | ZH_NEGATIVE | ZH_NEGATIONS | ZH_SEGMENT_HINTS:
        if len(word) > 1:
            tk.add_word(word, freq=2000)
    return tk


@lru_cache(maxsize=200_000)
def tokens(text: str, language: str | None = None) -> tuple[str, ...]:
    """Words of a review: jieba segmentation for Chinese, letters for English (lower case); no punctuation."""
    text = text or ""
    lang = language or detect_language(text)
    if lang == "zh":
        return tuple(t for t in _zh_tokenizer().lcut(text) if t.strip() and not re.fullmatch(r"[\W_]+", t))
    words = _EN_TOKEN.findall(text.lower())
    out: list[str] = []
    for w in words:  # split "don't" into do + n't so that the negation is seen
        if w.endswith("n't") and w not in ("can't", "won't"):
            out += [w[:-3], "n't"]
        else:
            out.append(w)
    return tuple(out)


def sentiment_score(text: str, language: str | None = None) -> tuple[float, int, int]:
    """(sentiment in [−1, 1], positive hits, negative hits) of one text by the lexicon method."""
    lang = language or detect_language(text or "")
    pos, neg, nots, more = ((ZH_POSITIVE, ZH_NEGATIVE, ZH_NEGATIONS, ZH_INTENSIFIERS) if lang == "zh" else
                            (EN_POSITIVE, EN_NEGATIVE, EN_NEGATIONS, EN_INTENSIFIERS))
    toks = tokens(text or "", lang)
    p = n = 0.0
    hits_p = hits_n = 0
    for i, t in enumerate(toks):
        polarity = 1 if t in pos else -1 if t in neg else 0
        if not polarity:
            continue
        window = toks[max(0, i - 3):i]
        weight = 1.5 if any(w in more for w in window[-2:]) else 1.0
        if any(w in nots for w in window):
            polarity = -polarity
        if polarity > 0:
            p += weight
            hits_p += 1
        else:
            n += weight
            hits_n += 1
    score = (p - n) / (p + n) if p + n else 0.0
    return score, hits_p, hits_n


def score_texts(texts: pd.DataFrame) -> pd.DataFrame:
    """Sentiment of each row of ``texts`` (columns ``text`` and optionally ``language``).

    Returns a copy with ``language`` filled (detected where missing), ``sentiment``,
    ``positive_hits``, ``negative_hits`` and ``covered`` (any lexicon word found).
    """
    out = texts.copy()
    if "language" not in out:
        out["language"] = None
    langs = [lg if isinstance(lg, str) and lg in ("zh", "en") else detect_language(tx or "")
             for tx, lg in zip(out["text"].fillna(""), out["language"])]
    scores = [sentiment_score(tx, lg) for tx, lg in zip(out["text"].fillna(""), langs)]
    out["language"] = langs
    out["sentiment"] = [s[0] for s in scores]
    out["positive_hits"] = [s[1] for s in scores]
    out["negative_hits"] = [s[2] for s in scores]
    out["covered"] = out["positive_hits"] + out["negative_hits"] > 0
    return out


LOOKUP_VIEW = "wb_review_sentiment"


def sentiment_lookup(ds: Dataset) -> pd.DataFrame:
    """Score every distinct review text of the dataset once and register the result as a DuckDB
    view ``wb_review_sentiment`` (``text``, ``language``, ``sentiment``, ``covered``) for joins.

    Scoring distinct texts keeps the cost to the number of different texts, not of reviews.
    Memoise it per notebook (``nb.memo(reputation.sentiment_lookup)``). Returns the lookup frame.
    """
    ds.require(NEEDS_TEXT)
    distinct = ds.sql("SELECT text, any_value(language) AS language FROM reviews "
                      "WHERE text IS NOT NULL GROUP BY text")
    scored = score_texts(distinct)[["text", "language", "sentiment", "covered"]]
    ds.con.register(LOOKUP_VIEW, scored)
    return scored


def _ensure_lookup(ds: Dataset) -> None:
    """Score the texts unless this dataset's connection already holds the lookup."""
    import duckdb

    try:
        ds.con.execute(f"SELECT 1 FROM {LOOKUP_VIEW} LIMIT 1")
    except duckdb.CatalogException:
        sentiment_lookup(ds)


# ------------------------------------------------------------------------------------------------
# filters on reviews
# ------------------------------------------------------------------------------------------------
def _where(ds: Dataset, f: Filters, alias: str = "r") -> str:
    """The period and channel condition on reviews (channel ignored when reviews carry none)."""
    cond = f.date_sql(f"CAST({alias}.created_at AS DATE)")
    if f.channels and ds.has("reviews", ["channel"]):
        cond += " AND " + f.channel_sql(f"{alias}.channel")
    return cond


def _window(f: Filters, days: int = HISTORY_DAYS) -> Filters:
    return replace(f, start=min(f.start, f.end - dt.timedelta(days=days - 1)))


def _group_expr(ds: Dataset, by: str | None) -> tuple[str, str]:
    if by is None:
        return "'all'", ""
    if by == "category":
        if not ds.has("products", ["category"]):
            return "'all'", ""
        return "COALESCE(p.category, 'unknown')", "LEFT JOIN products p USING (product_id)"
    return f"CAST(r.{by} AS VARCHAR)", ""


# ------------------------------------------------------------------------------------------------
# ratings
# ------------------------------------------------------------------------------------------------
@dataclass
class RatingSummary:
    """Average rating and negative share of a period, with intervals, n and the comparison period."""

    mean: float
    low: float
    high: float
    n: int
    negative_share: float
    negative_low: float
    negative_high: float
    mean_comparison: float
    negative_comparison: float
    change: float                 # relative change of the average rating
    negative_change: float        # relative change of the negative share
    method: str = "mean ± 1.96 s/√n; negative share (≤2 stars) with 95% Wilson interval"


def _rating_stats(ds: Dataset, f: Filters) -> tuple[float, float, int, int]:
    row = ds.sql(f"""SELECT avg(rating) AS m, stddev_samp(rating) AS s, count(*) AS n,
                            count(*) FILTER (WHERE rating <= {NEGATIVE_STARS}) AS neg
                     FROM reviews r WHERE {_where(ds, f)}""").iloc[0]
    return (float(row["m"]) if row["n"] else float("nan"), float(row["s"]) if row["n"] > 1 else float("nan"),
            int(row["n"]), int(row["neg"] or 0))


def rating_summary(ds: Dataset, f: Filters) -> RatingSummary:
    """Average rating and share of negative reviews in the period against the comparison period.

    Raises :class:`EmptyPeriodError` when the period holds no reviews.
    """
    ds.require(NEEDS)
    m, s, n, neg = _rating_stats(ds, f)
    if n == 0:
        raise EmptyPeriodError(f"no reviews between {f.start} and {f.end} for the chosen channels; "
                               "widen the period or the channels")
    half = 1.96 * s / math.sqrt(n) if n > 1 else float("nan")
    lo, hi = wilson_interval(neg, n)
    cmp_f = f.comparison()
    mc, _, nc, negc = _rating_stats(ds, cmp_f) if cmp_f else (float("nan"), float("nan"), 0, 0)
    shc = negc / nc if nc else float("nan")
    return RatingSummary(m, m - half, m + half, n, neg / n, float(lo), float(hi), mc, shc,
                         pct_change(m, mc), pct_change(neg / n, shc))


def rating_trend(ds: Dataset, f: Filters, by: str | None = None) -> pd.DataFrame:
    """Weekly average rating and negative share over the period and up to 26 weeks before.

    ``by`` groups by ``category`` (via products) or ``product_id``. Returns ``week`` (Monday),
    ``group``, ``reviews``, ``rating``, ``rating_low``, ``rating_high`` (mean ± 1.96 s/√n),
    ``negative``, ``negative_share`` with ``negative_share_low``/``_high`` (Wilson).
    """
    ds.require(NEEDS)
    w = _window(f)
    group, join = _group_expr(ds, by)
    frame = ds.sql(f"""
        SELECT date_trunc('week', CAST(r.created_at AS DATE)) AS week, {group} AS "group",
               count(*) AS reviews, avg(r.rating) AS rating, stddev_samp(r.rating) AS sd,
               count(*) FILTER (WHERE r.rating <= {NEGATIVE_STARS}) AS negative
        FROM reviews r {join} WHERE {_where(ds, w)} GROUP BY 1, 2 ORDER BY 1, 2
    """)
    frame["week"] = pd.to_datetime(frame["week"])
    half = 1.96 * frame["sd"] / np.sqrt(frame["reviews"])
    frame = frame.assign(rating_low=frame["rating"] - half, rating_high=frame["rating"] + half)
    lo, hi = wilson_interval(frame["negative"].to_numpy(), frame["reviews"].to_numpy())
    with np.errstate(invalid="ignore", divide="ignore"):
        share = frame["negative"] / frame["reviews"]
    return frame.assign(negative_share=share, negative_share_low=lo, negative_share_high=hi).drop(columns="sd")


def rating_by(ds: Dataset, f: Filters, by: str = "product_id", min_reviews: int = 20) -> pd.DataFrame:
    """Average rating and negative share per ``by`` (``product_id`` or ``category``) in the period,
    with intervals and the comparison period's average; groups with fewer than ``min_reviews``
    reviews are left out. Sorted worst first (lowest upper bound of the rating)."""
    ds.require(NEEDS)
    group, join = _group_expr(ds, by)
    frames = []
    for name, ff in (("current", f), ("comparison", f.comparison())):
        if ff is None:
            continue
        frames.append(ds.sql(f"""
            SELECT {group} AS "group", count(*) AS reviews, avg(r.rating) AS rating, stddev_samp(r.rating) AS sd,
                   count(*) FILTER (WHERE r.rating <= {NEGATIVE_STARS}) AS negative
            FROM reviews r {join} WHERE {_where(ds, ff)} GROUP BY 1
        """).assign(period=name))
    cur = frames[0]
    cur = cur[cur["reviews"] >= min_reviews].copy()
    half = 1.96 * cur["sd"] / np.sqrt(cur["reviews"])
    cur["rating_low"], cur["rating_high"] = cur["rating"] - half, cur["rating"] + half
    lo, hi = wilson_interval(cur["negative"].to_numpy(), cur["reviews"].to_numpy())
    cur["negative_share"] = cur["negative"] / cur["reviews"]
    cur["negative_share_low"], cur["negative_share_high"] = lo, hi
    if len(frames) > 1:
        prev = frames[1][["group", "rating"]].rename(columns={"rating": "rating_comparison"})
        cur = cur.merge(prev, on="group", how="left")
    else:
        cur["rating_comparison"] = np.nan
    cur["rating_change"] = cur["rating"] - cur["rating_comparison"]
    return cur.drop(columns=["sd", "period"]).sort_values("rating_high").reset_index(drop=True)


# ------------------------------------------------------------------------------------------------
# sentiment: agreement with ratings, trend, drops
# ------------------------------------------------------------------------------------------------
@dataclass
class Agreement:
    """How well text sentiment agrees with the stars (the check on the lexicon method)."""

    spearman: float
    spearman_low: float
    spearman_high: float
    agreement: float            # share of polar reviews (stars ≠ 3, sentiment ≠ 0) whose signs agree
    agreement_low: float
    agreement_high: float
    polar_n: int
    coverage: float             # share of texts with at least one lexicon word
    n: int
    by_language: pd.DataFrame
    method: str = "Spearman ρ with Fisher-z 95% interval; polarity agreement with 95% Wilson interval"


def _spearman_ci(rho: float, n: int) -> tuple[float, float]:
    if n < 4 or not np.isfinite(rho):
        return float("nan"), float("nan")
    z = np.arctanh(min(max(rho, -0.999999), 0.999999))
    se = 1.06 / math.sqrt(n - 3)  # Fieller et al. (1957) for Spearman
    return float(np.tanh(z - 1.96 * se)), float(np.tanh(z + 1.96 * se))


def sentiment_agreement(ds: Dataset, f: Filters) -> Agreement:
    """Agreement of text sentiment with ratings over the period (by distinct text × rating counts).

    Raises :class:`EmptyPeriodError` when no review with text falls in the period.
    """
    ds.require(NEEDS_TEXT)
    _ensure_lookup(ds)
    counts = ds.sql(f"""
        SELECT s.language, s.sentiment, s.covered, r.rating, count(*) AS n
        FROM reviews r JOIN {LOOKUP_VIEW} s ON r.text = s.text
        WHERE {_where(ds, f)} GROUP BY ALL
    """)
    if counts.empty:
        raise EmptyPeriodError(f"no review texts between {f.start} and {f.end}; widen the period")

    def summarise(c: pd.DataFrame) -> dict:
        n = int(c["n"].sum())
        rank_s = _weighted_ranks(c["sentiment"].to_numpy(), c["n"].to_numpy())
        rank_r = _weighted_ranks(c["rating"].to_numpy(dtype=float), c["n"].to_numpy())
        rho = _weighted_corr(rank_s, rank_r, c["n"].to_numpy())
        polar = c[(c["rating"] != 3) & (c["sentiment"] != 0)]
        agree = polar[np.sign(polar["sentiment"]) == np.where(polar["rating"] > 3, 1, -1)]["n"].sum()
        pn = int(polar["n"].sum())
        lo, hi = wilson_interval(agree, pn)
        return {"n": n, "spearman": rho, "agreement": agree / pn if pn else float("nan"),
                "agreement_low": float(lo), "agreement_high": float(hi), "polar_n": pn,
                "coverage": float(c.loc[c["covered"], "n"].sum() / n)}

    total = summarise(counts)
    by_lang = pd.DataFrame([{"language": lg, **summarise(g)} for lg, g in counts.groupby("language")])
    lo, hi = _spearman_ci(total["spearman"], total["n"])
    return Agreement(total["spearman"], lo, hi, total["agreement"], total["agreement_low"],
                     total["agreement_high"], total["polar_n"], total["coverage"], total["n"], by_lang)


def _cusum(steps: np.ndarray) -> np.ndarray:
    """The lower one-sided CUSUM path S_t = min(0, S_{t−1} + step_t)."""
    out = np.empty(len(steps))
    s = 0.0
    for i, step in enumerate(steps):
        s = min(0.0, s + step)
        out[i] = s
    return out


def _weighted_ranks(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Mid-ranks of ``values`` where each value stands for ``weights`` tied observations."""
    order = pd.DataFrame({"v": values, "w": weights}).groupby("v")["w"].sum().sort_index()
    upper = order.cumsum()
    mid = upper - (order - 1) / 2.0
    return pd.Series(values).map(mid).to_numpy(dtype=float)


def _weighted_corr(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    w = w.astype(float)
    if w.sum() < 3:
        return float("nan")
    mx, my = np.average(x, weights=w), np.average(y, weights=w)
    cov = np.average((x - mx) * (y - my), weights=w)
    vx, vy = np.average((x - mx) ** 2, weights=w), np.average((y - my) ** 2, weights=w)
    return float(cov / math.sqrt(vx * vy)) if vx > 0 and vy > 0 else float("nan")


def sentiment_trend(ds: Dataset, f: Filters, by: str | None = None) -> pd.DataFrame:
    """Weekly mean text sentiment over the period and up to 26 weeks before, per ``by`` (``language``,
    ``product_id``, ``category`` or None). Returns ``week``, ``group``, ``reviews``, ``sentiment``,
    ``sentiment_low``, ``sentiment_high`` (mean ± 1.96 s/√n)."""
    ds.require(NEEDS_TEXT)
    _ensure_lookup(ds)
    w = _window(f)
    if by == "language":
        group, join = "s.language", ""
    else:
        group, join = _group_expr(ds, by)
    frame = ds.sql(f"""
        SELECT date_trunc('week', CAST(r.created_at AS DATE)) AS week, {group} AS "group",
               count(*) AS reviews, avg(s.sentiment) AS sentiment, stddev_samp(s.sentiment) AS sd
        FROM reviews r JOIN {LOOKUP_VIEW} s ON r.text = s.text {join}
        WHERE {_where(ds, w)} GROUP BY 1, 2 ORDER BY 1, 2
    """)
    frame["week"] = pd.to_datetime(frame["week"])
    half = 1.96 * frame["sd"] / np.sqrt(frame["reviews"])
    return frame.assign(sentiment_low=frame["sentiment"] - half,
                        sentiment_high=frame["sentiment"] + half).drop(columns="sd")


def sentiment_drops(ds: Dataset, f: Filters, baseline_days: int = 120, monitor_days: int = 182,
                    min_baseline: int = 30, k: float = CUSUM_K, h: float = CUSUM_H) -> pd.DataFrame:
    """Products whose review sentiment dropped beyond normal variation (one-sided CUSUM).

    The monitored window is the period, widened to at least ``monitor_days`` days ending at its
    end; each product's baseline mean μ₀ and standard deviation σ₀ come from the
    ``baseline_days`` days before the window (products with fewer than ``min_baseline`` baseline
    reviews are skipped). Each review adds (x − μ₀)/σ₀ + k to S = min(0, ...), summed per day; the
    product alarms on the first day S < −h, and the alarm is kept when the mean since the change
    date lies at least :data:`DROP_Z` standard errors below μ₀ (a guard against many products
    tested). Returns one row per alarming product: ``product_id``,
    ``change_date`` (the last day S was 0 before the alarm), ``alarm_date``, ``baseline_sentiment``,
    ``sentiment_after`` (mean from the change date to the end), ``drop`` with ``drop_low``/
    ``drop_high`` (95%, Welch), ``reviews_after``, ``cusum_min``; sorted by the size of the drop.
    ``attrs['tested']`` holds the number of products tested.
    """
    ds.require(NEEDS_TEXT)
    _ensure_lookup(ds)
    mon_start = min(f.start, f.end - dt.timedelta(days=monitor_days - 1))
    base_start = mon_start - dt.timedelta(days=baseline_days)
    chan = f" AND {f.channel_sql('r.channel')}" if f.channels and ds.has("reviews", ["channel"]) else ""
    base = ds.sql(f"""
        SELECT r.product_id, count(*) AS n, avg(s.sentiment) AS mu, stddev_samp(s.sentiment) AS sd
        FROM reviews r JOIN {LOOKUP_VIEW} s ON r.text = s.text
        WHERE CAST(r.created_at AS DATE) >= DATE '{base_start}' AND CAST(r.created_at AS DATE) < DATE '{mon_start}'
          {chan} GROUP BY 1 HAVING count(*) >= {int(min_baseline)}
    """)
    cols = ["product_id", "change_date", "alarm_date", "baseline_sentiment", "sentiment_after", "drop", "drop_low",
            "drop_high", "reviews_after", "cusum_min"]
    if base.empty:
        out = pd.DataFrame(columns=cols)
        out.attrs["tested"] = 0
        return out
    base["sd"] = base["sd"].fillna(0).clip(lower=0.05)
    ds.con.register("wb_sentiment_base", base)
    try:
        daily = ds.sql(f"""
            SELECT r.product_id, CAST(r.created_at AS DATE) AS date, count(*) AS n,
                   sum((s.sentiment - b.mu) / b.sd + {k}) AS step, sum(s.sentiment) AS total,
                   sum(s.sentiment * s.sentiment) AS total_sq
            FROM reviews r JOIN {LOOKUP_VIEW} s ON r.text = s.text JOIN wb_sentiment_base b USING (product_id)
            WHERE CAST(r.created_at AS DATE) BETWEEN DATE '{mon_start}' AND DATE '{f.end}' {chan}
            GROUP BY 1, 2 ORDER BY 1, 2
        """)
    finally:
        ds.con.unregister("wb_sentiment_base")
    rows = []
    stats = base.set_index("product_id")
    for pid, g in daily.groupby("product_id", sort=False):
        cusum = _cusum(g["step"].to_numpy())
        below = np.flatnonzero(cusum < -h)
        if not len(below):
            continue
        alarm_i = int(below[0])
        # change date: the split that best separates the days after it from the baseline mean
        # (maximum of n_after × (mean_after − μ₀)² over days up to the alarm; Hinkley 1971)
        mu0 = float(stats.loc[pid, "mu"])
        n_after = g["n"].to_numpy(dtype=float)[::-1].cumsum()[::-1]
        sum_after = g["total"].to_numpy(dtype=float)[::-1].cumsum()[::-1]
        gap = sum_after / n_after - mu0
        score = np.where(gap < 0, n_after * gap ** 2, 0.0)[: alarm_i + 1]
        change = g["date"].iloc[int(np.argmax(score))]
        alarm, smin = g["date"].iloc[alarm_i], float(cusum.min())
        after = g[g["date"] >= change]
        n_a = float(after["n"].sum())
        mean_a = float(after["total"].sum()) / n_a
        var_a = max(float(after["total_sq"].sum()) / n_a - mean_a ** 2, 0.0) * n_a / max(n_a - 1, 1)
        b = stats.loc[pid]
        drop = mean_a - b["mu"]
        se = math.sqrt(var_a / n_a + b["sd"] ** 2 / b["n"])
        if drop > -DROP_Z * se:  # the CUSUM fired on noise: the drop since the change is not clear
            continue
        rows.append({"product_id": pid, "change_date": pd.Timestamp(change).date(),
                     "alarm_date": pd.Timestamp(alarm).date(), "baseline_sentiment": float(b["mu"]),
                     "sentiment_after": mean_a, "drop": drop, "drop_low": drop - 1.96 * se,
                     "drop_high": drop + 1.96 * se, "reviews_after": int(n_a), "cusum_min": smin})
    out = pd.DataFrame(rows, columns=cols).sort_values("drop").reset_index(drop=True)
    out.attrs["tested"] = len(base)
    return out


# ------------------------------------------------------------------------------------------------
# complaint terms
# ------------------------------------------------------------------------------------------------
_CLAUSE = re.compile(r"[，。！？；、,.!?;:：\n]+")


def _terms(text: str, lang: str) -> set[str]:
    """Distinct terms of one text: words (Chinese: 2+ characters or a lexicon word; no stop words or
    negations) and pairs of adjacent words within a clause (phrases such as 做工粗糙, poor quality)."""
    stop = ZH_STOPWORDS if lang == "zh" else EN_STOPWORDS
    nots = ZH_NEGATIONS if lang == "zh" else EN_NEGATIONS
    lexicon = ZH_NEGATIVE | ZH_POSITIVE if lang == "zh" else frozenset()
    out: set[str] = set()
    for clause in _CLAUSE.split(text or ""):
        toks = tokens(clause, lang)
        out.update(t for t in toks if t not in stop and t not in nots and not t.isdigit()
                   and (lang == "en" or len(t) > 1 or t in lexicon))
        out.update(a + ("" if lang == "zh" else " ") + b for a, b in zip(toks, toks[1:])
                   if (a not in stop or a in nots) and b not in stop and not a.isdigit() and not b.isdigit())
    return out


def _drop_covered(counts: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Drop a single word when a phrase holding it has as many mentions (the phrase says more)."""
    keep = []
    for _, g in counts.groupby(keys, sort=False):
        phrases = g[g["term"].str.contains(" ") | (g["term"].str.len() > 2)]
        drop = set()
        for term, m in zip(g["term"], g["mentions"]):
            if any(term != p and term in p and pm >= m for p, pm in zip(phrases["term"], phrases["mentions"])):
                drop.add(term)
        keep.append(g[~g["term"].isin(drop)])
    return pd.concat(keep, ignore_index=True) if keep else counts


def _negative_texts(ds: Dataset, f: Filters, product: bool) -> pd.DataFrame:
    grp = ", r.product_id" if product else ""
    return ds.sql(f"""
        SELECT r.text, COALESCE(r.language, '') AS language{grp}, count(*) AS n
        FROM reviews r WHERE r.text IS NOT NULL AND r.rating <= {NEGATIVE_STARS} AND {_where(ds, f)}
        GROUP BY ALL
    """)


def _term_counts(texts: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    rows = []
    for rec in texts.itertuples(index=False):
        lang = rec.language if rec.language in ("zh", "en") else detect_language(rec.text)
        for term in _terms(rec.text, lang):
            rows.append((*(getattr(rec, k) for k in keys), lang, term, rec.n))
    return pd.DataFrame(rows, columns=[*keys, "language", "term", "mentions"])


def complaint_terms(ds: Dataset, f: Filters, by_product: bool = False, top: int = 10) -> pd.DataFrame:
    """The most frequent terms and phrases of negative reviews (≤2 stars) in the period, per language
    (and product). Returns ``[product_id,] language``, ``term``, ``mentions`` (reviews containing it),
    ``share`` (of the group's negative reviews), the ``top`` terms per group.
    """
    ds.require(NEEDS_TEXT)
    texts = _negative_texts(ds, f, by_product)
    keys = ["product_id"] if by_product else []
    cols = [*keys, "language", "term", "mentions", "share"]
    if texts.empty:
        return pd.DataFrame(columns=cols)
    texts["language"] = [lg if lg in ("zh", "en") else detect_language(t) for t, lg in zip(texts["text"],
                                                                                          texts["language"])]
    counts = _term_counts(texts, keys).groupby([*keys, "language", "term"], as_index=False)["mentions"].sum()
    totals = texts.groupby([*keys, "language"])["n"].sum().rename("reviews").reset_index()
    counts = _drop_covered(counts.merge(totals, on=[*keys, "language"]), [*keys, "language"])
    counts["share"] = counts["mentions"] / counts["reviews"]
    counts = counts.sort_values([*keys, "language", "mentions", "term"], ascending=[True] * len(keys) + [True, False, True])
    return counts.groupby([*keys, "language"]).head(top).reset_index(drop=True)[cols]


def rising_terms(ds: Dataset, f: Filters, top: int = 10, min_mentions: int = 5) -> pd.DataFrame:
    """Complaint terms whose share of negative reviews rose most against the comparison period.

    Lift = (share now) / (share before), both smoothed by adding 0.5 mentions; terms with fewer
    than ``min_mentions`` mentions now are left out. Returns ``language``, ``term``, ``mentions``,
    ``share``, ``share_before``, ``lift``, the ``top`` per language. Empty without a comparison period.
    """
    ds.require(NEEDS_TEXT)
    cmp_f = f.comparison()
    cols = ["language", "term", "mentions", "share", "share_before", "lift"]
    if cmp_f is None:
        return pd.DataFrame(columns=cols)
    parts = []
    for name, ff in (("now", f), ("before", cmp_f)):
        texts = _negative_texts(ds, ff, False)
        if texts.empty:
            parts.append(pd.DataFrame(columns=["language", "term", name, f"{name}_total"]))
            continue
        texts["language"] = [lg if lg in ("zh", "en") else detect_language(t)
                             for t, lg in zip(texts["text"], texts["language"])]
        c = _term_counts(texts, []).groupby(["language", "term"], as_index=False)["mentions"].sum()
        tot = texts.groupby("language")["n"].sum().rename(f"{name}_total").reset_index()
        parts.append(c.rename(columns={"mentions": name}).merge(tot, on="language"))
    now, before = parts
    if now.empty:
        return pd.DataFrame(columns=cols)
    now = _drop_covered(now.rename(columns={"now": "mentions"}), ["language"]).rename(columns={"mentions": "now"})
    m = now.merge(before, on=["language", "term"], how="left")
    tot_before = before.groupby("language")["before_total"].first() if len(before) else pd.Series(dtype=float)
    m["before_total"] = m["language"].map(tot_before).fillna(0)
    m["before"] = m["before"].fillna(0)
    m = m[m["now"] >= min_mentions]
    m["share"] = m["now"] / m["now_total"]
    m["share_before"] = m["before"] / m["before_total"].where(m["before_total"] > 0)
    m["lift"] = ((m["now"] + 0.5) / (m["now_total"] + 1)) / ((m["before"] + 0.5) / (m["before_total"] + 1))
    m = m.rename(columns={"now": "mentions"}).sort_values(["language", "lift"], ascending=[True, False])
    return m.groupby("language").head(top).reset_index(drop=True)[cols]


# ------------------------------------------------------------------------------------------------
# net promoter-style summary
# ------------------------------------------------------------------------------------------------
def promoter_score(ds: Dataset, f: Filters, by: str | None = "channel") -> pd.DataFrame:
    """A net promoter-style score from stars: promoters 5★, passives 4★, detractors 1–3★.

    NPS = 100 × (promoters − detractors) / n with a 95% interval from the multinomial variance
    (p + d − (p − d)²)/n. Returns per ``group`` (``by`` values, or 'all'): ``reviews``,
    ``promoters``, ``detractors``, ``nps``, ``nps_low``, ``nps_high`` and ``nps_comparison``.
    """
    ds.require(NEEDS if by != "channel" else {**NEEDS, **NEEDS_CHANNEL})
    group = f"COALESCE(CAST(r.{by} AS VARCHAR), 'unknown')" if by else "'all'"
    frames = {}
    for name, ff in (("current", f), ("comparison", f.comparison())):
        if ff is None:
            continue
        frames[name] = ds.sql(f"""
            SELECT {group} AS "group", count(*) AS reviews, count(*) FILTER (WHERE rating = 5) AS promoters,
                   count(*) FILTER (WHERE rating <= 3) AS detractors
            FROM reviews r WHERE {_where(ds, ff)} GROUP BY 1
        """)
    cur = frames["current"]
    p, d = cur["promoters"] / cur["reviews"], cur["detractors"] / cur["reviews"]
    se = np.sqrt((p + d - (p - d) ** 2) / cur["reviews"])
    cur = cur.assign(nps=100 * (p - d), nps_low=100 * (p - d - 1.96 * se), nps_high=100 * (p - d + 1.96 * se))
    if "comparison" in frames and len(frames["comparison"]):
        c = frames["comparison"]
        c = c.assign(nps_comparison=100 * (c["promoters"] - c["detractors"]) / c["reviews"])[["group", "nps_comparison"]]
        cur = cur.merge(c, on="group", how="left")
    else:
        cur["nps_comparison"] = np.nan
    return cur.sort_values("reviews", ascending=False).reset_index(drop=True)


def nps_difference(scores: pd.DataFrame) -> tuple[str, str, float, float, float] | None:
    """Best and worst group of a :func:`promoter_score` frame (groups with 30+ reviews) and the gap
    with its 95% interval: (best, worst, gap, low, high); None with fewer than two groups."""
    s = scores[scores["reviews"] >= 30]
    if len(s) < 2:
        return None
    best, worst = s.loc[s["nps"].idxmax()], s.loc[s["nps"].idxmin()]
    se = math.sqrt(((best["nps_high"] - best["nps"]) / 1.96) ** 2 + ((worst["nps_high"] - worst["nps"]) / 1.96) ** 2)
    gap = best["nps"] - worst["nps"]
    return str(best["group"]), str(worst["group"]), float(gap), gap - 1.96 * se, gap + 1.96 * se




