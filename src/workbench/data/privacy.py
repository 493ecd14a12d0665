"""Personal data, recognised by its values: detectors, keyed pseudonyms, province and city.

What counts as personal data here is decided by what a value *looks like*, not by what its
column is called, so a phone number used as a member id or an address typed into a remark
column is caught as well as a column headed 收货地址:

- **phone**: mainland mobile numbers (``13812345678``, ``+86 138 1234 5678``, the masked
  ``138****5678`` of platform exports) and landlines with an area code (``0755-86001234``);
- **email**: ``name@domain.tld``;
- **id_card**: 18-character resident identity numbers whose birth date is a date and whose
  check character is right (ISO 7064 MOD 11-2), so 18-digit order numbers are not taken for them;
- **address**: a Chinese street address (a province or city name followed by a street, number,
  building or room: 路, 街, 号, 室, 栋, 单元, 弄, 巷, 村, 小区, 大厦 with a digit), or a Western one
  (``12 Baker Street``).

Three things use the detectors:

- :func:`parse_region` keeps only the province and the city of an address, matched against the
  shipped list of China's provinces and prefecture-level cities (``mappings/regions_cn.yaml``,
  National Bureau of Statistics 2023): ``广东省深圳市南山区科技园路3号502室`` -> ``广东省``, ``深圳市``;
- the importers drop every column whose values look personal and pseudonymise any value that
  holds personal data, even inside a longer text, in a column they keep (:func:`mask_sql`);
- the loader searches every row of every text column of the native tables it reads, inside
  longer texts too (:func:`scan_columns_sql`, one DuckDB pass per table, recorded with the data's
  fingerprint by :func:`save_scans`), and masks what it finds (:func:`loader_column_sql`): ``pii``
  columns of the model become keyed tokens ``pii-<12 hex>``, ids and names holding a phone
  number, e-mail, ID-card number or street address keyed pseudonyms, and those pieces of a review
  text ``***`` (:func:`redact_sql`).

The in-text patterns (:func:`text_patterns`) serve DuckDB and Python alike
(:func:`text_kind_sql` / :func:`find_in_text`, :func:`redact_sql` / :func:`redact_text`).

Every pseudonym is the keyed hash of :mod:`workbench.data.importers.pseudonym`; its key never
sits beside the data, so a phone number cannot be recovered by hashing all phone numbers.

Public API: :data:`KINDS`, :func:`kind_of`, :func:`scan`, :func:`personal_kind_of_column`,
:func:`parse_region`, :func:`provinces`, :func:`sql_kind`, :func:`mask_sql`, :func:`token_sql`,
:func:`token`, :func:`pseudonym`, :func:`text_patterns`, :func:`find_in_text`, :func:`text_kind_sql`,
:func:`redact_text`, :func:`redact_sql`, :func:`scan_columns_sql`, :func:`loader_column_sql`,
:func:`load_scans`, :func:`save_scans`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from collections.abc import Iterable
from functools import cache
from importlib import resources
from pathlib import Path

import yaml

#: The kinds of personal value recognised.
KINDS = ("phone", "email", "id_card", "address")
#: Prefix and length of the loader's tokens of personal columns (stable across releases: tests match it).
TOKEN_PREFIX, TOKEN_DIGITS = "pii-", 12
#: Prefix of the pseudonym of a personal value found outside the buyer id.
VALUE_PREFIX = "p-"

_PHONE = r"(?:\+?86[\s-]?)?1[3-9]\d[\s-]?(?:\d{4}|\*{4})[\s-]?\d{4}|0\d{2,3}-\d{7,8}"
_EMAIL = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"
_ID = r"[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]"
_STREET_CN = r"(?:路|街|大道|巷|弄|号|室|栋|幢|单元|楼|村|镇|乡|小区|大厦|花园|公寓|社区)"
_STREET_EN = r"\d+[A-Za-z]?\s+[A-Za-z][A-Za-z .'-]*\b(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|Boulevard|Blvd|Way)\b"

PHONE_RE = re.compile(rf"^(?:{_PHONE})$")
EMAIL_RE = re.compile(rf"^{_EMAIL}$")
ID_RE = re.compile(rf"^{_ID}$")
_EN_ADDRESS_RE = re.compile(_STREET_EN, re.IGNORECASE)
_CN_STREET_RE = re.compile(rf"\d+\s*{_STREET_CN}|{_STREET_CN}\s*\d+")

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def _id_check_ok(value: str) -> bool:
    total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS))
    return _ID_CHECK[total % 11] == value[17].upper()


# ---------------------------------------------------------------- provinces and cities

_PROVINCE_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "特别行政区", "自治区", "省", "市")
_ETHNIC = ("朝鲜族", "土家族", "苗族", "侗族", "布依族", "藏族", "羌族", "彝族", "傣族", "白族", "哈尼族",
           "壮族", "景颇族", "傈僳族", "蒙古族", "回族", "哈萨克族", "柯尔克孜族", "黎族")


def _short_city(name: str) -> list[str]:
    out = []
    for suffix in ("自治州", "地区", "林区", "市", "盟", "县"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            short = name[: -len(suffix)]
            changed = True
            while changed:
                changed = False
                for e in _ETHNIC:
                    if short.endswith(e) and len(short) > len(e) + 1:
                        short, changed = short[: -len(e)], True
            out.append(short)
            break
    return out


@cache
def provinces() -> dict[str, tuple[str, ...]]:
    """Province (full official name) -> its prefecture-level cities, from ``mappings/regions_cn.yaml``."""
    text = resources.files("workbench.data.mappings").joinpath("regions_cn.yaml").read_text(encoding="utf-8")
    return {p: tuple(c or ()) for p, c in yaml.safe_load(text).items()}


@cache
def _tables() -> tuple[list[tuple[str, str]], dict[str, list[tuple[str, str]]], list[tuple[str, str, str]]]:
    """(province names and aliases, longest first), ({province: [(city name or alias, city)]}),
    ([(city name or alias, province, city)] for addresses that start with the city)."""
    prov_names: list[tuple[str, str]] = []
    per_prov: dict[str, list[tuple[str, str]]] = {}
    city_names: list[tuple[str, str, str]] = []
    for prov, cities in provinces().items():
        prov_names.append((prov, prov))
        for suffix in _PROVINCE_SUFFIXES:
            if prov.endswith(suffix) and len(prov) > len(suffix) + 1:
                prov_names.append((prov[: -len(suffix)], prov))
                break
        entries = []
        for city in cities:
            entries.append((city, city))
            entries += [(s, city) for s in _short_city(city)]
        per_prov[prov] = sorted(entries, key=lambda e: -len(e[0]))
        city_names += [(n, prov, c) for n, c in entries if len(n) >= 2 and not (n == c == prov)]
    counts = Counter(n for n, _, _ in city_names)
    unique = [e for e in city_names if counts[e[0]] == 1]
    return (sorted(prov_names, key=lambda e: -len(e[0])), per_prov, sorted(unique, key=lambda e: -len(e[0])))


_BLANKS = re.compile(r"[\s\u3000,，/]+")


def parse_region(text: str | None) -> tuple[str | None, str | None]:
    """The province and city of an address or region text, nothing finer; (None, None) when unknown.

    ``"广东省深圳市南山区科技园路3号502室"`` and ``"广东 深圳市 南山区 ..."`` give ``("广东省", "深圳市")``;
    ``"北京 北京市 朝阳区 ..."`` gives ``("北京市", "北京市")``; ``"深圳市福田区..."`` (no province)
    gives ``("广东省", "深圳市")``; a text that names no known province or city gives ``(None, None)``
    and is never kept.
    """
    if text is None:
        return None, None
    s = _BLANKS.sub("", str(text))
    if not s:
        return None, None
    prov_names, per_prov, city_names = _tables()
    for name, prov in prov_names:
        if s.startswith(name):
            rest = s[len(name):]
            cities = per_prov[prov]
            if provinces()[prov] == (prov,):  # a municipality: its city is itself
                return prov, prov
            for cname, city in cities:
                if rest.startswith(cname):
                    return prov, city
            return prov, None
    for cname, prov, city in city_names:
        if s.startswith(cname):
            return prov, city
    return None, None


# ---------------------------------------------------------------- detectors (Python)

def kind_of(value: object) -> str | None:
    """The kind of personal data ``value`` looks like (one of :data:`KINDS`), or None."""
    if value is None:
        return None
    s = str(value).strip()
    if len(s) < 5 or len(s) > 300:
        return None
    if PHONE_RE.match(s):
        return "phone"
    if "@" in s and EMAIL_RE.match(s):
        return "email"
    if len(s) == 18 and ID_RE.match(s) and _id_check_ok(s):
        return "id_card"
    if _CN_STREET_RE.search(s) and parse_region(s) != (None, None):
        return "address"
    if _EN_ADDRESS_RE.search(s):
        return "address"
    return None


def scan(values: Iterable[object]) -> Counter:
    """How many of ``values`` look like each kind of personal data (a Counter over :data:`KINDS`)."""
    return Counter(k for k in map(kind_of, values) if k)


def personal_kind_of_column(values: Iterable[object], share: float = 0.2) -> str | None:
    """The kind of personal data a column holds, judged on (a sample of) its non-empty ``values``.

    A column is personal when at least ``share`` of its values look personal (one kind or
    several; the most frequent kind is returned). Returns None otherwise.
    """
    vals = [v for v in values if v is not None and str(v).strip()]
    if not vals:
        return None
    found = scan(vals)
    if sum(found.values()) >= max(1, share * len(vals)):
        return found.most_common(1)[0][0]
    return None


# ---------------------------------------------------------------- detectors and masks (DuckDB)

def _sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def sql_kind(expr: str) -> str:
    """A DuckDB expression: 'phone', 'email' or 'id_card' when the text ``expr`` looks like one, else NULL.

    (Addresses need the province list and are found per column in Python; see :func:`kind_of`.)
    The ID-card check digit is verified, so 18-digit order numbers do not match by accident.
    """
    v = f"trim(CAST({expr} AS VARCHAR))"
    weights = " + ".join(f"CAST(substr({v}, {i + 1}, 1) AS INTEGER) * {w}" for i, w in enumerate(_ID_WEIGHTS))
    id_ok = (f"(regexp_full_match({v}, {_sql_str(_ID)}) AND "
             f"substr('{_ID_CHECK}', CAST(({weights}) % 11 AS INTEGER) + 1, 1) = upper(substr({v}, 18, 1)))")
    return (f"CASE WHEN {expr} IS NULL THEN NULL "
            f"WHEN regexp_full_match({v}, {_sql_str(_PHONE)}) THEN 'phone' "
            f"WHEN contains({v}, '@') AND regexp_full_match({v}, {_sql_str(_EMAIL)}) THEN 'email' "
            f"WHEN length({v}) = 18 AND {id_ok} THEN 'id_card' ELSE NULL END")


def _key():
    from workbench.data.importers.pseudonym import load_key

    return load_key()


def mask_sql(expr: str, key=None, prefix: str = VALUE_PREFIX) -> str:
    """A DuckDB expression: ``expr`` itself, or its keyed pseudonym where it is or holds a phone
    number, e-mail, ID-card number or street address anywhere inside it (``tel13800138000``,
    ``VIP-13912345678``; see :func:`text_kind_sql`), so such a value is never written or shown."""
    key = key or _key()
    return f"CASE WHEN {text_kind_sql(expr)} THEN {key.sql(expr, prefix=prefix)} ELSE {expr} END"


def token_sql(expr: str, key=None) -> str:
    """A DuckDB expression: the keyed token ``pii-<12 hex>`` of a personal value (NULL stays NULL)."""
    key = key or _key()
    return key.sql(expr, prefix=TOKEN_PREFIX, digits=TOKEN_DIGITS)


def token(value: str, key=None) -> str:
    """The token :func:`token_sql` gives ``value`` (for tests and for matching a known value)."""
    key = key or _key()
    return key.pseudonym(value, prefix=TOKEN_PREFIX, digits=TOKEN_DIGITS)


def pseudonym(value: str, key=None, prefix: str = VALUE_PREFIX) -> str:
    """The pseudonym :func:`mask_sql` gives a personal ``value``."""
    key = key or _key()
    return key.pseudonym(value, prefix=prefix)


# ---------------------------------------------------------------- personal data inside longer texts
#
# The detectors above judge a whole value. A phone number in a customer id ("tel13800138000"), an
# address in a note or an e-mail in a review is found by the patterns below, which look *inside*
# a text. They are written once and used by DuckDB (RE2) over whole columns and by Python (re)
# for single values, so both agree. RE2 has no look-around: the digit boundaries around phone and
# ID-card numbers are matched as groups and put back when a text is masked.

_STOP = r"[^\n\r\t,，。;；!！?？、]"
_NUMBERED = r"(?:号|室|栋|幢|单元|楼|层|弄)"
_STREETWORD = r"(?:路|街|大道|道|巷|弄|区|县|镇|乡|村|小区|大厦|花园|公寓|社区)"
_PHONE_TEXT = r"(?:\+?86[ -]?)?1[3-9][0-9][ -]?(?:[0-9]{4}|\*{4})[ -]?[0-9]{4}|0[0-9]{2,3}-[0-9]{7,8}"
_ID_TEXT = r"[1-9][0-9]{5}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]"
_EMAIL_TEXT = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
_EN_STREET_TEXT = (r"[0-9]+[A-Za-z]? +[A-Z][A-Za-z .'-]*\b(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|"
                   r"Boulevard|Blvd|Way)\b")

#: Texts of free prose (review texts): personal data inside them is replaced by this mark, the rest
#: of the text is kept for the analyses that read it. Every other text column (ids, names, codes)
#: is replaced whole by its keyed pseudonym where it holds personal data.
PROSE_COLUMNS = frozenset({("reviews", "text")})
REDACTED = "***"


@cache
def text_patterns() -> dict[str, str]:
    """The patterns that find personal data inside a text, by kind, plus ``any`` (their union).

    ``phone`` and ``id_card`` carry their boundaries as groups 1 and 3 (start or a non-digit before,
    a non-digit or the end after), so a 19-digit order number holds no phone number;
    ``address`` is a province or city of the shipped table followed, within the same clause, by a
    street word (路, 区, 村, ...) and a number with 号, 室, 栋, 楼 ...; or a Western street address.
    The ``id_card`` pattern does not check the check character (see :func:`text_kind_sql`).
    """
    prov_names, per_prov, _ = _tables()
    names = {n for n, _ in prov_names if len(n) >= 2} | {n for entries in per_prov.values() for n, _ in entries
                                                         if len(n) >= 2}
    alternation = "|".join(re.escape(n) for n in sorted(names, key=lambda n: (-len(n), n)))
    address_cn = rf"(?:{alternation}){_STOP}{{0,30}}?{_STREETWORD}{_STOP}{{0,20}}?[0-9]+ *{_NUMBERED}"
    out = {
        "phone": rf"(^|[^0-9])({_PHONE_TEXT})([^0-9]|$)",
        "email": _EMAIL_TEXT,
        "id_card": rf"(^|[^0-9])({_ID_TEXT})([^0-9Xx]|$)",
        "address": rf"{address_cn}|{_EN_STREET_TEXT}",
    }
    out["any"] = "|".join(f"(?:{p})" for p in out.values())
    return out


@cache
def _text_res() -> dict[str, re.Pattern]:
    return {k: re.compile(p) for k, p in text_patterns().items()}


def find_in_text(value: object) -> str | None:
    """The first kind of personal data found anywhere inside ``value`` (phone, email, id_card,
    address), or None; the Python twin of :func:`text_kind_sql`, for single values."""
    if value is None:
        return None
    s = str(value)
    res = _text_res()
    if not res["any"].search(s):
        return None
    for kind in KINDS:
        if kind == "id_card":
            if any(_id_check_ok(m.group(2)) for m in res[kind].finditer(s)):
                return kind
        elif res[kind].search(s):
            return kind
    return None


def redact_text(value: str | None) -> str | None:
    """``value`` with every phone number, e-mail, ID-card-like number and street address replaced by
    :data:`REDACTED` (the Python twin of :func:`redact_sql`)."""
    if value is None:
        return None
    res = _text_res()
    s = res["email"].sub(REDACTED, str(value))
    for kind in ("id_card", "phone"):
        for _ in range(2):  # two neighbours share the boundary between them: a second pass takes the other
            s = res[kind].sub(lambda m: m.group(1) + REDACTED + m.group(3), s)
    return re.sub(rf"(?:{text_patterns()['address']}){_STOP[:-1]} ]*", REDACTED, s)


def _id_ok_sql(x: str) -> str:
    weights = " + ".join(f"CAST(substr({x}, {i + 1}, 1) AS INTEGER) * {w}" for i, w in enumerate(_ID_WEIGHTS))
    return f"substr('{_ID_CHECK}', CAST(({weights}) % 11 AS INTEGER) + 1, 1) = upper(substr({x}, 18, 1))"


def text_kind_sql(expr: str) -> str:
    """A DuckDB expression: TRUE when the text ``expr`` holds a phone number, e-mail, ID-card number
    (check character verified) or street address anywhere inside it; FALSE otherwise (NULL for NULL)."""
    p = text_patterns()
    v = f"CAST({expr} AS VARCHAR)"
    first_id = f"regexp_extract({v}, {_sql_str(p['id_card'])}, 2)"
    return (f"CASE WHEN {v} IS NULL THEN NULL WHEN NOT regexp_matches({v}, {_sql_str(p['any'])}) THEN FALSE "
            f"WHEN regexp_matches({v}, {_sql_str(p['phone'])}) OR regexp_matches({v}, {_sql_str(p['email'])}) "
            f"OR regexp_matches({v}, {_sql_str(p['address'])}) THEN TRUE "
            f"WHEN {first_id} <> '' THEN {_id_ok_sql(first_id)} ELSE FALSE END")


def redact_sql(expr: str) -> str:
    """A DuckDB expression: the text ``expr`` with every piece of personal data in it replaced by
    :data:`REDACTED` (see :func:`redact_text`)."""
    p = text_patterns()
    s = f"regexp_replace(CAST({expr} AS VARCHAR), {_sql_str(p['email'])}, '{REDACTED}', 'g')"
    for kind in ("id_card", "phone"):
        for _ in range(2):
            s = f"regexp_replace({s}, {_sql_str(p[kind])}, '\\1{REDACTED}\\3', 'g')"
    return f"regexp_replace({s}, {_sql_str('(?:' + p['address'] + ')' + _STOP[:-1] + ' ]*')}, '{REDACTED}', 'g')"


def scan_columns_sql(con, raw: str, refs: dict[str, str]) -> dict[str, int]:
    """Count, over *every* row, the values of each column that hold personal data anywhere inside them.

    ``con`` a DuckDB connection, ``raw`` the (quoted) table or view, ``refs`` {column name: quoted
    column}. One pass of one pattern over all the columns counts the candidates; only columns with
    candidates get the exact count (check characters of ID-card numbers verified). Returns
    {column: rows with personal data} for the columns that hold any (others are left out).
    """
    if not refs:
        return {}
    anyp = _sql_str(text_patterns()["any"])
    names = list(refs)
    counts = con.execute("SELECT " + ", ".join(
        f"count(*) FILTER (WHERE regexp_matches(CAST({refs[n]} AS VARCHAR), {anyp}))" for n in names)
        + f" FROM {raw}").fetchone()
    suspects = [n for n, c in zip(names, counts) if c]
    if not suspects:
        return {}
    exact = con.execute("SELECT " + ", ".join(
        f"count(*) FILTER (WHERE {text_kind_sql(refs[n])})" for n in suspects) + f" FROM {raw}").fetchone()
    return {n: int(c) for n, c in zip(suspects, exact) if c}


# ---------------------------------------------------------------- the loader's masks

def is_buyer_column(column) -> bool:
    """True for ``customer_id`` and the columns that point at it (they get the buyers' ``c-`` pseudonyms)."""
    return column.name == "customer_id" or (column.references or "").startswith("customers.")


def loader_column_sql(table: str, column, typed: str, holds_personal: bool) -> str:
    """What the loader reads for one column of a native table (the loader's one call into this module).

    ``table`` the model table's name, ``column`` its :class:`~workbench.data.schema.Column`, ``typed``
    the column's typed expression, ``holds_personal`` whether the full-column scan
    (:func:`scan_columns_sql`) found personal data in it. Returns the keyed token for the model's
    personal columns (name, phone, address); ``typed`` unchanged for columns without personal data;
    for review texts, ``typed`` with each phone number, e-mail, ID-card number or address inside it
    replaced by ``***``; for every other text column, the keyed pseudonym of each value that holds
    any (``c-…`` for buyer ids, the importers' pseudonyms, so a buyer keeps one id whether imported
    or read from a native table; ``p-…`` elsewhere). The same value gets the same pseudonym in every
    table, so joins hold.
    """
    if column.pii:
        return token_sql(typed)
    if column.dtype != "string" or not holds_personal:
        return typed
    found = text_kind_sql(typed)
    if (table, column.name) in PROSE_COLUMNS:
        return f"CASE WHEN {found} THEN {redact_sql(typed)} ELSE {typed} END"
    from workbench.data.importers.pseudonym import PREFIX

    key = _key()
    pseudonym_of = key.sql(typed, prefix=PREFIX if is_buyer_column(column) else VALUE_PREFIX)
    return f"CASE WHEN {found} THEN {pseudonym_of} ELSE {typed} END"


# ---------------------------------------------------------------- the scan's record, kept with the fingerprint

#: Bumped when the scan's meaning changes; with the patterns' hash it names a record.
SCAN_VERSION = 1


def scan_cache_dir() -> Path:
    """Where the scans' records live: ``$WORKBENCH_SCAN_DIR``, else ``$XDG_CACHE_HOME/workbench/privacy``
    (``~/.cache/workbench/privacy``); never inside the data folder, so that it does not change the
    data's fingerprint."""
    from workbench.data.cache import cache_folder

    return cache_folder("privacy", "WORKBENCH_SCAN_DIR")


def _scan_file(source: Path, fingerprint: str) -> Path:
    ident = hashlib.sha256(f"{SCAN_VERSION}\n{text_patterns()['any']}\n{Path(source).resolve()}\n{fingerprint}"
                           .encode()).hexdigest()[:24]
    return scan_cache_dir() / f"scan-{ident}.json"


def load_scans(source: Path, fingerprint: str) -> dict[str, dict[str, int]]:
    """The full-column scans recorded for ``source`` at ``fingerprint`` ({table: {column: rows}}), or {}.

    A batch validates the data once; its kernels then mask the same columns without scanning again.
    Any other fingerprint (a file changed, added or touched) finds no record and scans anew.
    """
    if fingerprint == "missing":
        return {}
    try:
        data = json.loads(_scan_file(source, fingerprint).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    tables = data.get("tables") if isinstance(data, dict) else None
    if not isinstance(tables, dict):
        return {}
    return {t: {c: int(n) for c, n in cols.items()} for t, cols in tables.items() if isinstance(cols, dict)}


def save_scans(source: Path, fingerprint: str, scans: dict[str, dict[str, int]]) -> None:
    """Record ``scans`` for ``source`` at ``fingerprint`` (atomically; a folder that cannot be written
    only costs the next kernel a scan). The record holds table and column names and counts, no values."""
    if fingerprint == "missing":
        return
    target = _scan_file(source, fingerprint)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"version": SCAN_VERSION, "fingerprint": fingerprint, "tables": scans},
                                  sort_keys=True), encoding="utf-8")
        os.replace(tmp, target)
    except OSError:
        pass
