"""The message catalogue: every word a reader sees, in Chinese and in English, under one key.

Messages live in ``workbench/text/messages/<lang>/*.yaml``: one folder per language, one file per
page or theme, nested mappings whose dotted paths are the keys (``logistics.finding.on_time_rate``,
``label.channel.tmall``). A key is defined once per language; the test suite checks that both
languages have the same keys and that each pair of templates uses the same placeholders.

Templates use named placeholders with a *format* after the colon::

    已签收订单中 {rate:share} 按时送达（{rate:interval}）。
    {rate:share} of delivered orders arrived on time ({rate:interval}).

The formats are the units of :mod:`workbench.text.fmt` (``share``, ``change``, ``money``, …), plus
``interval`` (an :class:`~workbench.stats.result.Estimate`'s interval, level and n: "95% 置信区间
92.5% 至 93.7%，n = 12,345"), ``est`` (its value in its own unit), ``label`` (the value's label),
``text`` (as given) and ``int``. A placeholder without a format takes the value's natural form: an
Estimate's reading, a number in plain digits, a string as given.
"""

from __future__ import annotations

import math
import string
from functools import lru_cache
from importlib import resources
from typing import Any, Iterator, Mapping

from workbench.text import fmt

LANGUAGES = ("zh", "en")

_FORMATTER = string.Formatter()


class CatalogueError(KeyError):
    """Raised when a message key is not in the catalogue (the key and the language are named)."""


def _flatten(prefix: str, node: Any, out: dict[str, str], origin: str) -> None:
    if isinstance(node, Mapping):
        for k, v in node.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out, origin)
    else:
        if prefix in out:
            raise ValueError(f"message key {prefix!r} is defined twice ({origin})")
        out[prefix] = "" if node is None else str(node)


def _load_yaml(text: str, origin: str) -> Any:
    """Parse YAML, refusing a key written twice in one mapping (PyYAML would keep the last silently)."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict:
        keys = [loader.construct_object(k) for k, _ in node.value]
        dupes = {str(k) for k in keys if keys.count(k) > 1}
        if dupes:
            raise ValueError(f"message keys {sorted(dupes)} written twice in one mapping ({origin}, "
                             f"line {node.start_mark.line + 1})")
        return loader.construct_mapping(node)

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    return yaml.load(text, Loader=Loader)  # noqa: S506 - a SafeLoader subclass


@lru_cache(maxsize=None)
def messages(lang: str) -> dict[str, str]:
    """Every message of ``lang`` as ``{dotted key: template}`` (read once per process)."""

    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; use one of {', '.join(LANGUAGES)}")
    out: dict[str, str] = {}
    folder = resources.files("workbench.text") / "messages" / lang
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            data = _load_yaml(entry.read_text(encoding="utf-8"), f"{lang}/{entry.name}") or {}
            _flatten("", data, out, f"{lang}/{entry.name}")
    return out


def has(key: str, lang: str = "zh") -> bool:
    """Whether ``key`` is in the catalogue of ``lang``."""
    return key in messages(lang)


def placeholders(template: str) -> set[str]:
    """A template's placeholders with their formats (``{rate:share}`` → ``rate:share``)."""
    return {f"{name}:{spec}" if spec else name for _, name, spec, _ in _FORMATTER.parse(template) if name}


def _is_estimate(v: Any) -> bool:
    return hasattr(v, "estimate") and hasattr(v, "low") and hasattr(v, "level")


def _format(v: Any, spec: str, lang: str) -> str:
    if spec == "interval":
        if not _is_estimate(v):
            raise TypeError(f"the format 'interval' needs an Estimate, got {type(v).__name__}")
        return v.interval_text(lang)
    if spec == "est":
        return v.value_text(lang) if _is_estimate(v) else fmt.value(v, "number", lang)
    if _is_estimate(v):
        if not spec:
            return v.reading(lang)
        v = v.estimate
    if spec == "label":
        return label(v, lang)
    if spec == "text":
        return str(v)
    if spec == "int":
        return fmt.count(v, "en") if isinstance(v, (int, float)) and math.isfinite(v) else str(v)
    if spec in fmt.UNITS:
        return fmt.value(v, spec, lang)
    if spec.startswith(tuple(fmt.UNITS)) and spec[-1].isdigit():  # share2, number1: digits given
        unit, digits = spec.rstrip("0123456789"), int(spec[len(spec.rstrip("0123456789")):])
        return fmt.value(v, unit, lang, digits=digits)
    if spec:
        return format(v, spec)
    if isinstance(v, float):
        return fmt.number(v, lang)
    return str(v)


def message(key: str, lang: str = "zh", /, **values: Any) -> str:
    """The message ``key`` in ``lang``, its placeholders filled from ``values``.

    Raises :class:`CatalogueError` when the key is missing and ``KeyError`` naming the placeholder
    when a value is not given.
    """
    try:
        template = messages(lang)[key]
    except KeyError:
        raise CatalogueError(f"no message {key!r} in the {lang} catalogue (workbench/text/messages/{lang}/)") from None
    parts = []
    for literal, name, spec, _conv in _FORMATTER.parse(template):
        parts.append(literal)
        if name is None:
            continue
        if name not in values:
            raise KeyError(f"message {key!r} needs a value for {{{name}}}")
        parts.append(_format(values[name], spec or "", lang))
    return "".join(parts)


def label(value: Any, lang: str = "zh", context: str | None = None) -> str:
    """The label of a key or a data value (a channel, a category, a metric) in ``lang``.

    Looks up ``label.<context>.<value>`` (when a context is given), then ``label.<value>``; a value
    that has no label (a product's name, a KOL's handle) comes back as itself.
    """
    text = str(value)
    table = messages(lang)
    if context is not None:
        hit = table.get(f"label.{context}.{text}")
        if hit is not None:
            return hit
    return table.get(f"label.{text}", text)


def check() -> Iterator[str]:
    """Every inconsistency of the catalogue: a key missing in one language, or placeholders that differ."""
    zh, en = messages("zh"), messages("en")
    for key in sorted(set(zh) - set(en)):
        yield f"{key}: in zh, missing in en"
    for key in sorted(set(en) - set(zh)):
        yield f"{key}: in en, missing in zh"
    for key in sorted(set(zh) & set(en)):
        a, b = placeholders(zh[key]), placeholders(en[key])
        if a != b:
            yield f"{key}: placeholders differ (zh {sorted(a)}, en {sorted(b)})"
