"""Sentiment of review text by a lexicon count, and the change detectors and correlations that check it.

Text in, numbers out; nothing here knows of datasets or SQL.

Method (stated, so a reader can check it): Chinese text is segmented with **jieba** (precise
mode, a private tokenizer with the lexicon words added so that they stay whole); English text is
lower-cased and split on letters. Each token found in the positive (negative) lexicon scores +1
(−1), times 1.5 when one of the two tokens before it is an intensifier, with its sign flipped when
one of the three tokens before it is a negation. A text's sentiment is (positive − negative) /
(positive + negative) in [−1, 1]; a text without lexicon words scores 0 and is "not covered".
The lexicons hold Chinese and English words (the terms themselves, not text a reader sees).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from workbench.stats.result import Estimate

if TYPE_CHECKING:
    import pandas as pd

#: The feasible range of a text's sentiment and of any mean of it.
BOUNDS = (-1.0, 1.0)

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


@lru_cache(maxsize=200_000)
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




def _z(level: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + level / 2))


def mean_interval(total: float, total_sq: float, n: float, level: float = 0.95,
                  bounds: tuple[float, float] | None = BOUNDS, unit: str = "score", method: str = "mean-t",
                  min_n: int = 10) -> Estimate:
    """The mean of ``n`` values given their sum and sum of squares, with a t interval clipped to ``bounds``."""
    from scipy.stats import t

    n = float(n or 0)
    if n <= 0:
        return Estimate(math.nan, n=0, method=method, unit=unit, bounds=bounds, level=level, min_n=min_n)
    m = total / n
    if n < 2:
        return Estimate(m, n=int(n), method=method, unit=unit, bounds=bounds, level=level, min_n=min_n)
    var = max(total_sq / n - m * m, 0.0) * n / (n - 1)
    half = float(t.ppf(0.5 + level / 2, n - 1)) * math.sqrt(var / n)
    return Estimate(m, m - half, m + half, level=level, n=int(n), method=method, unit=unit, bounds=bounds,
                    min_n=min_n)


def mean_bands(mean: np.ndarray, sd: np.ndarray, n: np.ndarray, level: float = 0.95,
               bounds: tuple[float, float] = BOUNDS) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper t bounds of group means (arrays), clipped to ``bounds``; NaN below two observations."""
    from scipy.stats import t

    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = t.ppf(0.5 + level / 2, np.maximum(n - 1, 1))
        half = np.where(n > 1, q * np.asarray(sd, dtype=float) / np.sqrt(n), np.nan)
    m = np.asarray(mean, dtype=float)
    return np.clip(m - half, *bounds), np.clip(m + half, *bounds)


def cusum(steps: Sequence[float]) -> np.ndarray:
    """The lower one-sided CUSUM path S_t = min(0, S_{t−1} + step_t) (Page 1954)."""
    out = np.empty(len(steps))
    s = 0.0
    for i, step in enumerate(steps):
        s = min(0.0, s + float(step))
        out[i] = s
    return out


def change_index(n: Sequence[float], total: Sequence[float], mu0: float, upto: int) -> int:
    """The split (index of the first day after it) that best separates the days after it from ``mu0``:
    the maximum of n_after × (mean_after − μ₀)² over negative gaps, among days up to ``upto`` (Hinkley 1971)."""
    n_after = np.asarray(n, dtype=float)[::-1].cumsum()[::-1]
    sum_after = np.asarray(total, dtype=float)[::-1].cumsum()[::-1]
    gap = sum_after / n_after - mu0
    score = np.where(gap < 0, n_after * gap ** 2, 0.0)[: upto + 1]
    return int(np.argmax(score))


def weighted_ranks(values: Sequence[float], weights: Sequence[float]) -> np.ndarray:
    """Mid-ranks of ``values`` where each value stands for ``weights`` tied observations."""
    import pandas as pd

    order = pd.DataFrame({"v": values, "w": weights}).groupby("v")["w"].sum().sort_index()
    upper = order.cumsum()
    mid = upper - (order - 1) / 2.0
    return pd.Series(values).map(mid).to_numpy(dtype=float)


def weighted_corr(x: Sequence[float], y: Sequence[float], w: Sequence[float]) -> float:
    """Pearson correlation of ``x`` and ``y`` with frequency weights ``w`` (NaN with fewer than 3)."""
    x, y, w = np.asarray(x, dtype=float), np.asarray(y, dtype=float), np.asarray(w, dtype=float)
    if w.sum() < 3:
        return float("nan")
    mx, my = np.average(x, weights=w), np.average(y, weights=w)
    cov = np.average((x - mx) * (y - my), weights=w)
    vx, vy = np.average((x - mx) ** 2, weights=w), np.average((y - my) ** 2, weights=w)
    return float(cov / math.sqrt(vx * vy)) if vx > 0 and vy > 0 else float("nan")


def spearman(values: Sequence[float], ratings: Sequence[float], weights: Sequence[float],
             level: float = 0.95, min_n: int = 10) -> Estimate:
    """Spearman's ρ of two weighted variables with a Fisher-z interval (se 1.06/√(n − 3); Fieller et al. 1957)."""
    n = int(np.asarray(weights, dtype=float).sum())
    rho = weighted_corr(weighted_ranks(values, weights), weighted_ranks(ratings, weights), weights)
    if n < 4 or not np.isfinite(rho):
        return Estimate(rho, n=n, method="spearman-fisher", unit="score", bounds=BOUNDS, level=level, min_n=min_n)
    z = np.arctanh(min(max(rho, -0.999999), 0.999999))
    se = 1.06 / math.sqrt(n - 3)
    q = _z(level)
    return Estimate(rho, float(np.tanh(z - q * se)), float(np.tanh(z + q * se)), level=level, n=n,
                    method="spearman-fisher", unit="score", bounds=BOUNDS, min_n=min_n)


def pooled_baselines(n: Sequence[float], total: Sequence[float], total_sq: Sequence[float],
                     group: Sequence[object], min_products: int = 3, min_sd: float = 0.05
                     ) -> dict[str, np.ndarray]:
    """Empirical-Bayes baselines of many small groups (products) pooled towards their category.

    In: per product its number of values ``n``, their sum ``total`` and sum of squares ``total_sq``,
    and its category ``group``. Model: a value of product p is μ_p + ε (sd σ_c, the category's pooled
    within-product sd), μ_p ~ N(m_c, τ_c²) (m_c the category mean, τ_c² the between-product variance by
    the method of moments, floored at (0.02)²). A category with fewer than ``min_products`` products of
    two or more values borrows σ, m and τ² from all categories together.

    Out (arrays aligned with the input): ``mu`` (posterior mean of μ_p: the product's own mean shrunk
    towards m_c by the weight τ²/(τ² + σ²/n)), ``var`` (its posterior variance 1/(n/σ² + 1/τ²)),
    ``sigma`` (σ_c), ``weight`` (the product's own share of ``mu``). A product with n = 0 gets m_c and τ_c².
    """
    import pandas as pd

    d = pd.DataFrame({"n": np.asarray(n, dtype=float), "t": np.asarray(total, dtype=float),
                      "t2": np.asarray(total_sq, dtype=float), "g": list(group)})
    d["mean"] = np.where(d["n"] > 0, d["t"] / d["n"].where(d["n"] > 0, 1), np.nan)
    d["ss"] = np.where(d["n"] > 1, (d["t2"] - d["t"] ** 2 / d["n"].where(d["n"] > 0, 1)).clip(lower=0), 0.0)

    def moments(x: pd.DataFrame) -> tuple[float, float, float, int]:
        several = x[x["n"] > 1]
        dof = float((several["n"] - 1).sum())
        sigma2 = float(several["ss"].sum()) / dof if dof > 0 else math.nan
        m = float(x["t"].sum() / x["n"].sum()) if x["n"].sum() > 0 else math.nan
        if len(several) >= 2 and math.isfinite(sigma2):
            tau2 = float(((several["mean"] - m) ** 2).mean() - (sigma2 / several["n"]).mean())
        else:
            tau2 = math.nan
        return sigma2, m, tau2, len(several)

    s_all, m_all, t_all, _ = moments(d)
    t_all = max(t_all if math.isfinite(t_all) else 0.0, 0.02 ** 2)
    s_all = max(s_all if math.isfinite(s_all) else 1.0, min_sd ** 2)
    per: dict[object, tuple[float, float, float]] = {}
    for g, x in d.groupby("g", sort=False):
        sigma2, m, tau2, k = moments(x)
        if k < min_products or not math.isfinite(sigma2):
            sigma2, m, tau2 = s_all, (m if math.isfinite(m) else m_all), t_all
        per[g] = (max(sigma2, min_sd ** 2), m, max(tau2 if math.isfinite(tau2) else t_all, 0.02 ** 2))
    sigma2 = d["g"].map(lambda g: per[g][0]).to_numpy(float)
    m = d["g"].map(lambda g: per[g][1]).to_numpy(float)
    tau2 = d["g"].map(lambda g: per[g][2]).to_numpy(float)
    nn = d["n"].to_numpy(float)
    weight = tau2 / (tau2 + sigma2 / np.maximum(nn, 1e-12))
    weight = np.where(nn > 0, weight, 0.0)
    own = np.nan_to_num(d["mean"].to_numpy(float))
    mu = weight * own + (1 - weight) * m
    var = 1.0 / (nn / sigma2 + 1.0 / tau2)
    return {"mu": mu, "var": var, "sigma": np.sqrt(sigma2), "weight": weight}


def difference_of_means(mean_a: float, var_a: float, n_a: float, mean_b: float, var_b: float, n_b: float,
                        level: float = 0.95, bounds: tuple[float, float] = (-2.0, 2.0)) -> Estimate:
    """``mean_a − mean_b`` with a Welch (normal) interval; the difference of two sentiments lies in [−2, 2]."""
    se = math.sqrt(var_a / n_a + var_b / n_b)
    d = mean_a - mean_b
    q = _z(level)
    return Estimate(d, d - q * se, d + q * se, level=level, n=int(n_a), method="welch", unit="score",
                    bounds=bounds, min_n=2)


def net_promoter(promoters: float, detractors: float, n: float, level: float = 0.95,
                 min_n: int = 30) -> Estimate:
    """A net promoter score 100 × (promoters − detractors) / n in [−100, 100] with a normal interval from
    the multinomial variance (p + d − (p − d)²)/n, clipped to [−100, 100]."""
    n = float(n or 0)
    if n <= 0:
        return Estimate(math.nan, n=0, method="nps-multinomial", unit="number", bounds=(-100.0, 100.0),
                        level=level, min_n=min_n)
    p, d = promoters / n, detractors / n
    se = math.sqrt(max(p + d - (p - d) ** 2, 0.0) / n)
    q = _z(level)
    return Estimate(100 * (p - d), 100 * (p - d - q * se), 100 * (p - d + q * se), level=level, n=int(n),
                    method="nps-multinomial", unit="number", bounds=(-100.0, 100.0), min_n=min_n)


def difference_of_estimates(a: Estimate, b: Estimate, level: float = 0.95,
                            bounds: tuple[float, float] | None = None) -> Estimate:
    """``a − b`` of two independent estimates with symmetric-normal intervals (se from each half-width)."""
    q = _z(a.level)
    se = math.sqrt(((a.high - a.low) / (2 * q)) ** 2 + ((b.high - b.low) / (2 * q)) ** 2)
    d = a.estimate - b.estimate
    qn = _z(level)
    return Estimate(d, d - qn * se, d + qn * se, level=level, n=None, method="difference-normal",
                    unit=a.unit, bounds=bounds, min_n=0)
