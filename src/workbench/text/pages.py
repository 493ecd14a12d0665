"""The topic notebooks: one registry of names, with titles and questions from the catalogue.

The runner orders a batch by this registry (the overview last, because it reads the
others' findings), the dashboards' landing page lists it, and the overview links to it.
A notebook in ``notebooks/`` that is not registered still runs, titled by its file name.
Titles and questions are the catalogue's ``page.<stem>.title`` and ``page.<stem>.question``.
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench.text import catalogue

#: Registered notebooks, in run order (the overview, which reads the others, runs last).
NAMES = ("00_overview", "01_sales_traffic", "02_products_pricing", "03_marketing", "04_campaigns",
         "05_customer_service", "06_logistics", "07_omnichannel", "08_social_commerce", "09_cross_border",
         "10_personalisation", "11_brand_reputation", "12_crm", "13_risk", "14_forecast")


@dataclass(frozen=True)
class Topic:
    """A topic notebook: its file stem; title and question in either language from the catalogue."""

    name: str

    def _text(self, what: str, lang: str) -> str:
        key = f"page.{self.name}.{what}"
        if catalogue.has(key, lang):
            return catalogue.message(key, lang)
        if what == "title":
            return self.name.split("_", 1)[-1].replace("_", " ").capitalize()
        return ""

    def title(self, lang: str) -> str:
        return self._text("title", lang)

    def question(self, lang: str) -> str:
        return self._text("question", lang)

    @property
    def title_en(self) -> str:
        return self.title("en")

    @property
    def title_zh(self) -> str:
        return self.title("zh")

    @property
    def question_en(self) -> str:
        return self.question("en")

    @property
    def question_zh(self) -> str:
        return self.question("zh")


TOPICS: dict[str, Topic] = {name: Topic(name) for name in NAMES}


def topic(name: str) -> Topic:
    """The registered topic for a notebook stem, or a plain one titled by the stem."""
    return TOPICS.get(name) or Topic(name)


def namespace(stem: str) -> str:
    """The catalogue namespace of a notebook: its stem without the number (``06_logistics`` → ``logistics``)."""
    head, _, rest = stem.partition("_")
    return rest if head.isdigit() and rest else stem
