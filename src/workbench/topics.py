"""The topic notebooks: one registry of names, titles and the question each answers.

The runner orders a batch by this registry (the overview last, because it reads the
others' findings), the dashboards' landing page lists it, and the overview links to it.
A notebook in ``notebooks/`` that is not registered still runs, titled by its file name.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    """A topic notebook: file stem, titles in both languages and its question."""

    name: str
    title_en: str
    title_zh: str
    question_en: str
    question_zh: str

    def title(self, lang: str) -> str:
        return self.title_zh if lang == "zh" else self.title_en


TOPICS: dict[str, Topic] = {t.name: t for t in (
    Topic("00_overview", "Executive overview", "经营总览",
          "How is the business doing across every topic?", "各项经营指标整体表现如何？"),
    Topic("01_sales_traffic", "Sales and traffic", "销售与流量",
          "How is the business doing, and why did it change?", "生意表现如何，变化从何而来？"),
    Topic("02_products_pricing", "Products and pricing", "商品与定价",
          "What to sell, how to list it, at what price?", "卖什么、怎么上架、定什么价？"),
    Topic("03_marketing", "Marketing and promotion", "营销推广",
          "Where does the money go, and what does it return?", "钱花在哪里，回报如何？"),
    Topic("04_campaigns", "Campaigns and holidays", "大促与节日",
          "What did each campaign add, and how to plan the next?", "每次大促带来了多少增量？"),
    Topic("05_customer_service", "Customer service", "客户服务",
          "Are customers helped quickly and well?", "客户是否得到及时有效的服务？"),
    Topic("06_logistics", "Logistics", "物流履约",
          "Do orders arrive when promised, and what does lateness cost?", "订单是否按时送达，延误代价多大？"),
    Topic("07_omnichannel", "Cross-platform and O2O", "全渠道与线上线下",
          "How do the platforms and the stores work together?", "各平台与门店如何协同？"),
    Topic("08_social_commerce", "Social commerce", "社交电商",
          "Which KOLs and livestreams pay back?", "哪些达人和直播带来回报？"),
    Topic("09_cross_border", "Cross-border", "跨境电商",
          "Which markets are worth it, after currency, duty and delivery?", "扣除汇率、关税和物流后哪些市场值得做？"),
    Topic("10_personalisation", "Personalised marketing", "个性化营销",
          "Who are our customers, and what should each be shown?", "客户是谁，该给每人推荐什么？"),
    Topic("11_brand_reputation", "Brand and reputation", "品牌与口碑",
          "What do customers say about us, and is it getting worse?", "顾客怎么评价我们，口碑在变差吗？"),
    Topic("12_crm", "CRM and lifetime value", "客户关系与生命周期价值",
          "Who stays, who leaves, and what is a customer worth?", "谁留下、谁流失，客户价值几何？"),
    Topic("13_risk", "Risk management", "风险管理",
          "What could hurt the business, and is any of it happening now?", "哪些风险可能伤害生意，是否正在发生？"),
)}


def topic(name: str) -> Topic:
    """The registered topic for a notebook stem, or a plain one titled by the stem."""
    if name in TOPICS:
        return TOPICS[name]
    plain = name.split("_", 1)[-1].replace("_", " ").capitalize()
    return Topic(name, plain, plain, "", "")
