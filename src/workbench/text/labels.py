"""Labels of keys and data values in Chinese and English, read from the message catalogue.

``label(key, lang)`` returns the label of a value or metric (``label.<key>`` in
:mod:`workbench.text.catalogue`); a value without one (a product's name) comes back as itself.
"""

from __future__ import annotations

from workbench.text.catalogue import label as _label


def label(key: object, lang: str = "zh", context: str | None = None) -> str:
    """The label of ``key`` in ``lang`` (zh or en); ``key`` itself when there is none."""
    return _label(key, lang, context)
