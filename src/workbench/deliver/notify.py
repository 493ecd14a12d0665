"""Tell people a run has ended: chat-bot webhooks (WeCom, DingTalk, Feishu/Lark, Slack, generic) and e-mail.

A target is named on the command line (``workbench run --notify wecom``) or in the ``--params``
YAML (``notify: [wecom, "email:ops@example.com"]``); its secrets never are. Where they come from:

============  ==========================================================================================
target        settings (environment variables; or the same names as keys of the notify file)
============  ==========================================================================================
``wecom``     ``WORKBENCH_WECOM_URL``: the group robot's webhook address (it holds the key)
``dingtalk``  ``WORKBENCH_DINGTALK_URL``; ``WORKBENCH_DINGTALK_SECRET`` when the robot signs (加签)
``feishu``    ``WORKBENCH_FEISHU_URL``; ``WORKBENCH_FEISHU_SECRET`` when signature checking is on
``lark``      the same as ``feishu`` with ``WORKBENCH_LARK_URL`` / ``WORKBENCH_LARK_SECRET``
``slack``     ``WORKBENCH_SLACK_URL``: an incoming-webhook address
``webhook``   ``WORKBENCH_WEBHOOK_URL``: receives the summary as JSON (:func:`generic_payload`)
``email:TO``  ``WORKBENCH_SMTP_HOST``, ``_PORT`` (587), ``_USER``, ``_PASSWORD``, ``_FROM``,
              ``_SECURITY`` (``starttls`` default, ``ssl`` or ``none``); ``TO`` is a comma-separated
              list of addresses (not a secret); the overview's PDF is attached when the run made one
============  ==========================================================================================

``NAME@SUFFIX`` selects a second set: ``dingtalk@ops`` reads ``WORKBENCH_DINGTALK_OPS_URL``.
The notify file (``WORKBENCH_NOTIFY_FILE``, default ``~/.config/workbench/notify.yaml``) may hold
the same keys in YAML, for a scheduler whose environment is hard to set; the environment wins.
A webhook address given on the command line is refused: it carries the credential.

Message shapes follow each platform's documented custom-robot format: WeCom ``msgtype: markdown``;
DingTalk ``msgtype: markdown`` with the signature ``HmacSHA256(secret, timestamp + "\\n" + secret)``
(milliseconds, Base64, URL-encoded) in the query string; Feishu/Lark ``msg_type: text`` with
``timestamp`` (seconds) and ``sign`` = Base64 of HmacSHA256 keyed by ``timestamp + "\\n" + secret``
over an empty message, in the body; Slack ``text`` with mrkdwn. A platform that answers HTTP 200
with an error code in its JSON (``errcode``/``code`` ≠ 0) is a failed delivery.

:func:`send_all` never raises: each target gets a :class:`Delivery` saying whether it worked.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import smtplib
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from workbench.deliver.summary import RunSummary
from workbench.errors import ParameterError
from workbench.text import catalogue

KINDS = ("wecom", "dingtalk", "feishu", "lark", "slack", "webhook", "email")
FILE_ENV = "WORKBENCH_NOTIFY_FILE"
TIMEOUT = 15.0
MAX_ALERTS = 8


@dataclass
class Target:
    """One place to send to: ``kind`` (one of :data:`KINDS`), ``name`` as written, ``suffix`` of
    a second settings set (``dingtalk@ops``) and, for e-mail, the recipients."""

    kind: str
    name: str
    suffix: str = ""
    recipients: tuple[str, ...] = ()

    def setting(self, key: str, settings: Mapping[str, str]) -> str | None:
        """The value of setting ``key`` (``URL``, ``SECRET``, ``HOST``…) for this target, or None."""
        stem = "SMTP" if self.kind == "email" else self.kind.upper()
        name = f"WORKBENCH_{stem}_{self.suffix.upper()}_{key}" if self.suffix else f"WORKBENCH_{stem}_{key}"
        value = settings.get(name)
        return value if value not in (None, "") else None


@dataclass
class Delivery:
    """What became of one notification: ``ok``, and on failure a one-line ``error``."""

    target: str
    kind: str
    ok: bool
    error: str | None = None
    status_code: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_target(text: str) -> Target:
    """The :class:`Target` written as ``text`` (``wecom``, ``dingtalk@ops``, ``email:a@x.cn,b@y.cn``).

    Raises :class:`~workbench.errors.ParameterError` for an unknown kind, an e-mail target without
    recipients, or a web address (which would put a credential on the command line).
    """
    raw = str(text).strip()
    low = raw.lower()
    if low.startswith(("http://", "https://")) or "://" in low:
        raise ParameterError(
            "--notify takes a target name, not a web address: a webhook address carries its key. "
            "Put it in an environment variable (e.g. WORKBENCH_WECOM_URL) or the notify file "
            f"(${FILE_ENV}), then write --notify wecom")
    kind, _, rest = raw.partition(":")
    kind, _, suffix = kind.partition("@")
    kind = kind.strip().lower()
    if kind not in KINDS:
        raise ParameterError(f"unknown notification target {raw!r}: use one of {', '.join(KINDS)}")
    if kind == "email":
        recipients = tuple(a.strip() for a in rest.split(",") if a.strip())
        if not recipients or not all("@" in a for a in recipients):
            raise ParameterError(f"e-mail target {raw!r} needs recipients: --notify email:ops@example.com")
        return Target("email", raw, suffix.strip(), recipients)
    if rest:
        raise ParameterError(f"target {raw!r}: only e-mail targets take a value after ':'")
    return Target(kind, raw, suffix.strip())


def settings_from(environ: Mapping[str, str] | None = None, file: str | Path | None = None) -> dict[str, str]:
    """The notification settings: the notify file's keys, overridden by the environment's."""
    environ = os.environ if environ is None else environ
    path = Path(file or environ.get(FILE_ENV) or Path.home() / ".config" / "workbench" / "notify.yaml")
    values: dict[str, str] = {}
    if path.is_file():
        import yaml

        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ParameterError(f"notify file {path} could not be read: {exc}") from exc
        if not isinstance(loaded, dict):
            raise ParameterError(f"notify file {path} must hold NAME: value lines")
        values.update({str(k): str(v) for k, v in loaded.items() if v is not None})
    values.update({k: v for k, v in environ.items() if k.startswith("WORKBENCH_")})
    return values


# ----- the message ---------------------------------------------------------------------------------
def _t(key: str, lang: str, **values: Any) -> str:
    return catalogue.message(f"deliver.{key}", lang, **values)


def link(summary: RunSummary, base_url: str | None = None, page: str = "index.html") -> str:
    """Where the report can be read: ``base_url/<run folder>/<page>`` or the file's path."""
    if base_url:
        return f"{base_url.rstrip('/')}/{urllib.parse.quote(summary.run_dir.name)}/{page}"
    return str((summary.run_dir / page).resolve())


def headline(summary: RunSummary) -> str:
    """One line: the run's status, its period and how many notebooks succeeded."""
    lang = summary.language
    key = "headline_ok" if summary.ok else "headline_failed"
    text = _t(key, lang, as_of=summary.as_of or "?", ok=summary.n_succeeded, n=summary.n_notebooks)
    return f"[{summary.shop}] {text}" if summary.shop else text


def lines(summary: RunSummary, base_url: str | None = None) -> list[tuple[str, str]]:
    """The message as ``(kind, text)`` lines: ``title``, ``alert-red``/``alert-amber``, ``failure``,
    ``section`` (sub-headings), ``note`` and ``link``; every text in the report's language."""
    lang = summary.language
    out: list[tuple[str, str]] = [("title", headline(summary))]
    if summary.alerts:
        out.append(("section", _t("alerts", lang, n=len(summary.alerts))))
        for a in summary.alerts[:MAX_ALERTS]:
            out.append((f"alert-{a.status}", f"{_t('status_' + a.status, lang)} {a.title}: {a.text}"))
        if len(summary.alerts) > MAX_ALERTS:
            out.append(("note", _t("more_alerts", lang, n=len(summary.alerts) - MAX_ALERTS)))
    else:
        out.append(("note", _t("no_alerts", lang)))
    if summary.failures:
        out.append(("section", _t("failures", lang, n=len(summary.failures))))
        for f in summary.failures:
            reason = f.reason or _t("status_" + (f.status if f.status in ("timeout",) else "failed"), lang)
            out.append(("failure", f"{f.title} ({f.notebook}): {reason}"))
    out.append(("link", f"{_t('open', lang)} {link(summary, base_url)}"))
    return out


def plain_text(summary: RunSummary, base_url: str | None = None) -> str:
    """The message as plain text (e-mail body, WeCom/DingTalk fall-back)."""
    return "\n".join(("- " if k.startswith(("alert", "failure")) else "") + t for k, t in lines(summary, base_url))


def markdown(summary: RunSummary, base_url: str | None = None, flavour: str = "common") -> str:
    """The message as markdown; ``flavour`` ``slack`` uses Slack's mrkdwn (``*bold*``)."""
    bold = (lambda s: f"*{s}*") if flavour == "slack" else (lambda s: f"**{s}**")
    rows = []
    for kind, text in lines(summary, base_url):
        if kind == "title":
            rows.append(bold(text) if flavour == "slack" else f"### {text}")
        elif kind == "section":
            rows.append(bold(text))
        elif kind.startswith("alert") or kind == "failure":
            rows.append(f"- {text}")
        else:
            rows.append(text)
    return "\n".join(rows)


def generic_payload(summary: RunSummary, base_url: str | None = None) -> dict[str, Any]:
    """The summary as a JSON object for a generic webhook (fields named in English, texts in the
    report's language)."""
    return {
        "status": summary.status, "as_of": summary.as_of, "start": summary.start, "language": summary.language,
        "succeeded": summary.n_succeeded, "notebooks": summary.n_notebooks, "headline": headline(summary),
        "alerts": [asdict(a) for a in summary.alerts], "failures": [asdict(f) for f in summary.failures],
        "link": link(summary, base_url), "text": plain_text(summary, base_url),
    }


# ----- signing ---------------------------------------------------------------------------------------
def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's custom-robot signature: Base64(HmacSHA256(secret, "timestamp\\nsecret")), URL-encoded."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest).decode())


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu/Lark's custom-bot signature: Base64(HmacSHA256(key="timestamp\\nsecret", message=""))."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def request_for(target: Target, summary: RunSummary, settings: Mapping[str, str], base_url: str | None = None,
                now: float | None = None) -> tuple[str, dict[str, Any]]:
    """The address and JSON body to POST for a webhook ``target``. Raises ``ParameterError`` when
    its address is not configured."""
    url = target.setting("URL", settings)
    if not url:
        var = f"WORKBENCH_{target.kind.upper()}{'_' + target.suffix.upper() if target.suffix else ''}_URL"
        raise ParameterError(f"notification target {target.name}: set {var} (environment or notify file)")
    secret = target.setting("SECRET", settings)
    now = time.time() if now is None else now
    title = headline(summary)
    if target.kind == "wecom":
        body: dict[str, Any] = {"msgtype": "markdown", "markdown": {"content": markdown(summary, base_url)}}
    elif target.kind == "dingtalk":
        body = {"msgtype": "markdown", "markdown": {"title": title, "text": markdown(summary, base_url)}}
        if secret:
            ms = int(now * 1000)
            url += ("&" if "?" in url else "?") + f"timestamp={ms}&sign={dingtalk_sign(secret, ms)}"
    elif target.kind in ("feishu", "lark"):
        body = {"msg_type": "text", "content": {"text": plain_text(summary, base_url)}}
        if secret:
            s = int(now)
            body = {"timestamp": str(s), "sign": feishu_sign(secret, s), **body}
    elif target.kind == "slack":
        body = {"text": markdown(summary, base_url, flavour="slack")}
    else:
        body = generic_payload(summary, base_url)
    return url, body


def _post(url: str, body: Mapping[str, Any], timeout: float) -> tuple[int, str]:
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    req = urllib.request.Request(url, data=data, method="POST",
                                 headers={"Content-Type": "application/json; charset=utf-8"})
    with urllib.request.urlopen(req, timeout=timeout) as response:  # noqa: S310 (address from settings)
        return response.status, response.read(65536).decode("utf-8", "replace")


def _platform_error(kind: str, text: str) -> str | None:
    """The error a platform reports inside an HTTP 200 answer, or None."""
    if kind == "webhook":
        return None
    try:
        answer = json.loads(text)
    except ValueError:  # Slack answers a plain "ok"
        return None
    if isinstance(answer, dict):
        for code_key, msg_key in (("errcode", "errmsg"), ("code", "msg"), ("StatusCode", "StatusMessage")):
            code = answer.get(code_key)
            if code not in (None, 0, "0"):
                return f"{code_key} {code}: {answer.get(msg_key, '')}"
    return None


def send_email(target: Target, summary: RunSummary, settings: Mapping[str, str], base_url: str | None = None,
               attachments: Sequence[Path] = (), timeout: float = TIMEOUT) -> None:
    """Send the summary by SMTP to ``target.recipients`` with ``attachments``; raises on failure."""
    host = target.setting("HOST", settings)
    if not host:
        raise ParameterError(f"notification target {target.name}: set WORKBENCH_SMTP_HOST (and _FROM)")
    port = int(target.setting("PORT", settings) or 587)
    security = (target.setting("SECURITY", settings) or "starttls").lower()
    sender = target.setting("FROM", settings) or target.setting("USER", settings)
    if not sender:
        raise ParameterError(f"notification target {target.name}: set WORKBENCH_SMTP_FROM")
    msg = EmailMessage()
    msg["Subject"] = headline(summary)
    msg["From"] = sender
    msg["To"] = ", ".join(target.recipients)
    msg.set_content(plain_text(summary, base_url))
    for path in attachments:
        msg.add_attachment(Path(path).read_bytes(), maintype="application", subtype="pdf",
                           filename=Path(path).name)
    if security == "ssl":
        server: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        server = smtplib.SMTP(host, port, timeout=timeout)
    with server:
        if security == "starttls":
            server.starttls(context=ssl.create_default_context())
        user, password = target.setting("USER", settings), target.setting("PASSWORD", settings)
        if user and password:
            server.login(user, password)
        server.send_message(msg)


def send(target: Target, summary: RunSummary, settings: Mapping[str, str], base_url: str | None = None,
         attachments: Sequence[Path] = (), timeout: float = TIMEOUT) -> Delivery:
    """Deliver the summary to one target; never raises (a failure is a :class:`Delivery` with ``ok=False``)."""
    try:
        if target.kind == "email":
            send_email(target, summary, settings, base_url, attachments, timeout)
            return Delivery(target.name, target.kind, True)
        url, body = request_for(target, summary, settings, base_url)
        status, text = _post(url, body, timeout)
        problem = _platform_error(target.kind, text)
        if problem:
            return Delivery(target.name, target.kind, False, problem, status)
        return Delivery(target.name, target.kind, True, None, status)
    except urllib.error.HTTPError as exc:
        return Delivery(target.name, target.kind, False, f"HTTP {exc.code} {exc.reason}", exc.code)
    except urllib.error.URLError as exc:
        return Delivery(target.name, target.kind, False, f"unreachable: {exc.reason}")
    except (OSError, smtplib.SMTPException, ParameterError, ValueError) as exc:
        return Delivery(target.name, target.kind, False, (str(exc).splitlines() or [type(exc).__name__])[0][:200])


def send_all(targets: Sequence[Target], summary: RunSummary, settings: Mapping[str, str] | None = None,
             base_url: str | None = None, attachments: Sequence[Path] = (),
             timeout: float = TIMEOUT) -> list[Delivery]:
    """Deliver to every target in turn (one failing never stops the next); one :class:`Delivery` each."""
    settings = settings_from() if settings is None else settings
    return [send(t, summary, settings, base_url, attachments, timeout) for t in targets]
