"""The message catalogue and number formatting (workbench.text)."""

from __future__ import annotations

import math

import pytest

from workbench.text import catalogue, fmt


def test_catalogue_has_every_message_in_both_languages_with_the_same_placeholders() -> None:
    problems = list(catalogue.check())
    assert problems == [], "\n".join(problems[:40])


def test_catalogue_keys_are_defined_once_per_language() -> None:
    out: dict[str, str] = {}
    catalogue._flatten("", {"a": {"b": "x"}}, out, "first")
    with pytest.raises(ValueError, match="defined twice"):
        catalogue._flatten("", {"a": {"b": "y"}}, out, "second")
    with pytest.raises(ValueError, match="written twice"):
        catalogue._load_yaml("label:\n  home: 家居\n  home: 家\n", "zh/x.yaml")


def test_message_fills_named_placeholders_and_names_a_missing_one() -> None:
    assert catalogue.message("result.too_few", "zh", n="3") == "样本过少（n = 3），无法估计"
    assert catalogue.message("result.too_few", "en", n="3") == "too few (n = 3) to estimate"
    with pytest.raises(KeyError, match="needs a value for {n}"):
        catalogue.message("result.too_few", "en")
    with pytest.raises(catalogue.CatalogueError, match="no message 'nope.nothing'"):
        catalogue.message("nope.nothing", "zh")


def test_labels_translate_channels_and_leave_names_alone() -> None:
    assert catalogue.label("tmall", "zh") == "天猫"
    assert catalogue.label("tmall", "en") == "Tmall"
    assert catalogue.label("某某旗舰店 SKU-1", "zh") == "某某旗舰店 SKU-1"


@pytest.mark.parametrize(("x", "lang", "expected"), [
    (-570_000, "zh", "−57.0 万元"),
    (-570_000, "en", "−¥570.0k"),
    (123_456_789, "zh", "1.23 亿元"),
    (2_500_000, "en", "¥2.50M"),
    (1234, "zh", "1,234 元"),
    (float("nan"), "zh", "—"),
])
def test_money_is_written_as_a_reader_writes_it(x: float, lang: str, expected: str) -> None:
    assert fmt.money(x, lang) == expected


def test_ranges_signs_and_units() -> None:
    assert fmt.span(-2.50, -2.19, "number", "zh") == "−2.50 至 −2.19"
    assert fmt.span(-2.50, -2.19, "number", "en") == "−2.50 to −2.19"
    assert fmt.span(3.0, 4.5, "days", "zh") == "3.0 至 4.5 天"
    assert fmt.value(0.123, "change", "en") == "+12.3%"
    assert fmt.value(-0.28, "change", "zh") == "−28.0%"
    assert fmt.value(0.012, "points", "zh") == "+1.2 个百分点"
    assert fmt.value(12, "count", "zh") == "12"
    assert fmt.value(123_456, "count", "zh") == "12.3 万"
    assert fmt.value(123_456, "count", "en") == "123,456"
    assert fmt.value(-0.0001, "number", "en") == "0.00"  # no "−0.00"
    assert "nan" not in fmt.value(math.nan, "share", "zh")


def test_every_column_a_section_needs_has_a_label_in_both_languages() -> None:
    """A skipped section names what is missing ("本节需要客户表的“收货地址”字段"): never a raw column key."""
    import importlib
    import pkgutil

    import workbench.topics as topics

    columns: set[str] = set()
    for info in pkgutil.iter_modules(topics.__path__):
        module = importlib.import_module(f"workbench.topics.{info.name}")
        for name in dir(module):
            needs = getattr(module, name)
            if name.startswith("NEEDS") and isinstance(needs, dict):
                columns.update(c for cols in needs.values() for c in cols)
    assert len(columns) > 30
    for lang in ("zh", "en"):
        raw = sorted(c for c in columns if catalogue.label(c, lang) == c)
        assert not raw, f"{lang}: columns without a label: {raw}"
