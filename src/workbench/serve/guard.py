"""The door of ``workbench serve``: every request passes :class:`Guard` before any Voila handler.

In order, for each request (pages, static files, kernel websockets alike):

1. ``Host`` must name this server (:class:`HostPolicy`: the bound address, localhost names and
   ``--allow-host`` values), and an ``Origin`` header, when sent, too; otherwise 403. This stops
   DNS-rebinding pages and cross-site websockets.
2. At most ``requests_per_minute`` requests per client (its address; behind a proxy the
   forwarded one), and apart from them at most ``assets_per_minute`` requests for the pages'
   scripts and stylesheets; otherwise 429 with a bilingual message.
3. When login is required (bound beyond 127.0.0.1), a valid session cookie, or the start token in
   ``?token=`` (exchanged for the cookie and removed from the address); otherwise pages are sent to
   ``/login`` and everything else (kernel channels included) gets 403.
4. A dashboard address (``/voila/render/<nb>.ipynb`` or ``/voila/live/<nb>.ipynb``) has its query
   string checked by :func:`workbench.app.url.check_query` here, before any kernel exists: a refused
   value answers 400 with the bilingual reason. ``render`` is served from a snapshot when one matches
   (:mod:`workbench.serve.snapshot`); otherwise, and always for ``live``, a kernel is needed: at most
   ``pages_per_minute`` such requests per client, at most ``kernels_per_client`` kernels started by one
   client and at most ``max_kernels`` request kernels in all
   (idle kernels no page is connected to are reclaimed first, and kernels of pages closed before they
   were all sent do not count: :mod:`workbench.serve.kernels`); when there is no room the page waits
   up to ``room_wait`` seconds for some (a kernel of a page just closed going away), then gets 429.
   A query equal to the defaults is dropped, so the page can use a preheated kernel.
"""

from __future__ import annotations

import html
import json
import logging
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import tornado.web

from workbench.errors import ParameterError
from workbench.serve.auth import COOKIE, Credentials

#: Days a session cookie stays valid (it also ends when the server restarts: the key is new each start).
SESSION_DAYS = 7

LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "localhost.localdomain", "ip6-localhost"})
WILDCARDS = frozenset({"", "0.0.0.0", "::"})

_DASHBOARD = re.compile(r"^voila/(render|live)/([^/?#]+\.ipynb)$")
_API = ("api/", "voila/api/", "voila/query/", "workbench/status")
_PUBLIC = ("voila/static/", "voila/templates/", "voila/labextensions/", "voila/api/themes/",
           "workbench/assets/", "favicon.ico")


def is_local_address(ip: str) -> bool:
    """Whether binding to ``ip`` keeps the server on this machine (a loopback address)."""
    import ipaddress

    if ip in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class HostPolicy:
    """The host names a request may address this server by."""

    allowed: frozenset[str]

    @classmethod
    def for_address(cls, ip: str, extra: Iterable[str] = ()) -> HostPolicy:
        """Localhost names, ``ip`` itself (or this machine's names when ``ip`` is a wildcard) and ``extra``."""
        names = set(LOCAL_NAMES) | {h.strip().lower().strip("[]") for h in extra if h and h.strip()}
        if ip in WILDCARDS:
            names |= {socket.gethostname().lower(), socket.getfqdn().lower()}
        else:
            names.add(ip.lower().strip("[]"))
        return cls(frozenset(names))

    @staticmethod
    def hostname(host: str) -> str:
        """``host`` (a Host header or an URL's netloc) without its port and brackets, lower case."""
        host = (host or "").strip().lower()
        if host.startswith("["):
            return host[1:].split("]", 1)[0]
        if host.count(":") == 1:
            return host.split(":", 1)[0]
        return host

    def host_ok(self, host: str) -> bool:
        return self.hostname(host) in self.allowed

    def origin_ok(self, origin: str | None) -> bool:
        """No Origin (not a cross-site browser request) or one whose host is allowed."""
        if origin is None:
            return True
        parts = urlsplit(origin.strip())
        return parts.scheme in ("http", "https") and self.hostname(parts.netloc) in self.allowed


class RateLimiter:
    """Requests per client in a sliding window; ``allow(client)`` records one and says if it is within the limit."""

    def __init__(self, limit: int, window: float = 60.0, max_clients: int = 10_000) -> None:
        self.limit = limit
        self.window = window
        self.max_clients = max_clients
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, client: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits.get(client)
            if hits is None:
                if len(self._hits) >= self.max_clients:
                    self._forget(now)
                hits = self._hits.setdefault(client, deque())
            while hits and now - hits[0] > self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            return True

    def retry_after(self, client: str, now: float | None = None) -> int:
        """Whole seconds until ``client`` may send again (at least 1)."""
        now = time.monotonic() if now is None else now
        hits = self._hits.get(client)
        if not hits:
            return 1
        return max(1, int(self.window - (now - hits[0])) + 1)

    def _forget(self, now: float) -> None:
        for client in [c for c, h in self._hits.items() if not h or now - h[-1] > self.window]:
            del self._hits[client]


@dataclass
class Limits:
    """What one client and the whole server may use (see the module's doc)."""

    requests_per_minute: int = 600
    #: Scripts, stylesheets and fonts of the pages (``_PUBLIC``: they hold no data), counted apart: a
    #: Voila page opened without a browser cache fetches dozens of them, and the load test's pages
    #: (a fresh browser context each, two at a time) ran into the 600 of ``requests_per_minute``,
    #: which then refused the pages themselves and their kernels' shutdown on unload.
    assets_per_minute: int = 6000
    pages_per_minute: int = 20
    login_attempts_per_minute: int = 10
    max_kernels: int = 4
    kernels_per_client: int = 2
    #: Seconds a page needing a kernel waits for one (the kernel of a page just closed going away)
    #: before the 429; 0: answer 429 at once.
    room_wait: float = 10.0


# ----- pages written by the guard ---------------------------------------------------------------------
def _both(key: str, **values: Any) -> tuple[str, str]:
    from workbench.text.catalogue import message

    return message(key, "zh", **values), message(key, "en", **values)


def message_page(status: int, key: str, detail: str = "", **values: Any) -> str:
    """A small bilingual page for an answer that is not a dashboard (``<key>.title`` and ``<key>.body``)."""
    zh_title, en_title = _both(f"{key}.title", **values)
    zh_body, en_body = _both(f"{key}.body", **values)
    extra = f"<pre class='wb-detail'>{html.escape(detail)}</pre>" if detail else ""
    return (f"<!DOCTYPE html><html lang='zh'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{html.escape(zh_title)} · "
            f"{html.escape(en_title)}</title><style>body{{font:15px/1.6 system-ui,'Noto Sans CJK SC',sans-serif;"
            f"max-width:46em;margin:3em auto;padding:0 1em}} .wb-status{{color:#57606a}}</style></head><body>"
            f"<div class='wb-message' data-status='{status}' role='alert'>"
            f"<h1 lang='zh'>{html.escape(zh_title)}</h1><p lang='zh'>{html.escape(zh_body)}</p>"
            f"<h2 lang='en'>{html.escape(en_title)}</h2><p lang='en'>{html.escape(en_body)}</p>{extra}"
            f"<p class='wb-status'>HTTP {status}</p></div></body></html>")


def refused_page(message: str, page_path: str, base_url: str = "/") -> str:
    """The 400 page of a dashboard address whose parameters were refused (the reason escaped).

    Like a dashboard, it has the navigation link home (``.wb-nav``) and its content in
    ``#rendered_cells``.
    """
    from workbench.app.url import refusal_html

    zh_title, en_title = _both("serve.refused.title")
    zh_home, en_home = _both("serve.snapshot.home")
    return (f"<!DOCTYPE html><html lang='zh'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{html.escape(zh_title)} · {html.escape(en_title)}</title>"
            f"<style>body{{font:15px/1.6 system-ui,'Noto Sans CJK SC',sans-serif;max-width:52em;margin:2em auto;"
            f"padding:0 1em}}</style></head><body>"
            f"<nav class='wb-nav'><a class='wb-nav-home' href='{html.escape(base_url)}'>{html.escape(zh_home)} · "
            f"{html.escape(en_home)}</a></nav><div id='rendered_cells'>"
            f"<p lang='zh'>{html.escape(_both('serve.refused.body')[0])}</p>"
            f"<p lang='en'>{html.escape(_both('serve.refused.body')[1])}</p>"
            f"{refusal_html(message, page_path)}</div></body></html>")


class _Answer(tornado.web.RequestHandler):
    """A fixed answer: status, body and headers chosen by the guard."""

    def initialize(self, status: int, body: str = "", headers: dict[str, str] | None = None,
                   cookie: str | None = None, secure: bool = False) -> None:
        self.wb_status, self.wb_body, self.wb_headers = status, body, headers or {}
        self.wb_cookie, self.wb_secure = cookie, secure

    def set_default_headers(self) -> None:
        _security_headers(self)

    def _answer(self, *args: Any) -> None:
        self.set_status(self.wb_status)
        for name, value in self.wb_headers.items():
            self.set_header(name, value)
        if self.wb_cookie is not None:
            self.set_cookie(COOKIE, self.wb_cookie, httponly=True, samesite="Lax", secure=self.wb_secure,
                            expires_days=SESSION_DAYS)
        if self.wb_body:
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.write(self.wb_body)

    get = post = head = put = delete = patch = options = _answer  # type: ignore[assignment]

    def check_xsrf_cookie(self) -> None:  # the guard checked Host and Origin already
        return None

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.finish(message_page(status_code, "serve.error"))


def _security_headers(handler: tornado.web.RequestHandler) -> None:
    handler.set_header("X-Content-Type-Options", "nosniff")
    handler.set_header("Referrer-Policy", "same-origin")
    handler.set_header("X-Frame-Options", "SAMEORIGIN")


class SnapshotHandler(tornado.web.RequestHandler):
    """A dashboard answered from a batch report (no kernel)."""

    def initialize(self, body: bytes) -> None:
        self.wb_page = body

    def set_default_headers(self) -> None:
        _security_headers(self)

    def get(self, *args: Any) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Workbench-Snapshot", "1")
        self.write(self.wb_page)

    def head(self, *args: Any) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("X-Workbench-Snapshot", "1")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.finish(message_page(status_code, "serve.error"))


@dataclass
class Guard:
    """Decides, for each request, whether it reaches Voila, and what to answer when not.

    ``notebooks`` is the folder of dashboards, ``snapshots`` a :class:`~workbench.serve.snapshot.SnapshotIndex`
    (or None), ``kernels`` a :class:`~workbench.serve.kernels.KernelBudget` (or None), ``drawer`` a
    :class:`~workbench.serve.drawn.Drawer` that draws snapshot pages ahead (or None).
    """

    hosts: HostPolicy
    credentials: Credentials
    limits: Limits = field(default_factory=Limits)
    notebooks: Path | None = None
    snapshots: Any = None
    kernels: Any = None
    base_url: str = "/"
    drawer: Any = None

    def __post_init__(self) -> None:
        from workbench.serve.snapshot import PageCache

        self.requests = RateLimiter(self.limits.requests_per_minute)
        self.assets = RateLimiter(self.limits.assets_per_minute)
        self.pages = RateLimiter(self.limits.pages_per_minute)
        self.logins = RateLimiter(self.limits.login_attempts_per_minute)
        self.page_cache = PageCache(drawer=self.drawer)

    # ----- the decision ------------------------------------------------------------------------------
    def route(self, app: tornado.web.Application, request: Any) -> Any | None:
        """A handler delegate answering ``request`` instead of Voila, or None to let Voila handle it.

        An unexpected error is logged and answered with a bilingual 500 page (no traceback).
        """
        try:
            return self._route(app, request)
        except Exception:
            import logging

            logging.getLogger("workbench.serve").exception("the guard failed on %s", request.path)
            return app.get_handler_delegate(request, _Answer, {"status": 500,
                                                               "body": message_page(500, "serve.error")})

    def _route(self, app: tornado.web.Application, request: Any) -> Any | None:
        def answer(status: int, body: str = "", **kwargs: Any) -> Any:
            return app.get_handler_delegate(request, _Answer, {"status": status, "body": body, **kwargs})

        if not self.hosts.host_ok(request.host):
            return answer(403, message_page(403, "serve.host", host=HostPolicy.hostname(request.host)[:80]))
        if not self.hosts.origin_ok(request.headers.get("Origin")):
            return answer(403, message_page(403, "serve.origin"))
        client = request.remote_ip or "?"
        path = request.path[len(self.base_url):] if request.path.startswith(self.base_url) else request.path.lstrip("/")
        limiter = self.assets if path.startswith(_PUBLIC) else self.requests
        if not limiter.allow(client):
            wait = limiter.retry_after(client)
            return answer(429, message_page(429, "serve.rate", seconds=wait), headers={"Retry-After": str(wait)})

        secure = request.protocol == "https"
        if self.credentials.required:
            denied = self._authenticate(app, request, path, answer, secure, client)
            if denied is not None:
                return denied
        match = _DASHBOARD.match(path)
        if match:
            return self._dashboard(app, request, match.group(1), match.group(2), client, answer)
        return None

    def _authenticate(self, app: Any, request: Any, path: str, answer: Any, secure: bool, client: str) -> Any | None:
        if self._session_ok(request):
            if path == "login" and request.method == "GET":
                return answer(302, headers={"Location": self._next(request)})
            return None
        args = dict(parse_qsl(request.query, keep_blank_values=True))
        token = args.pop("token", None)
        if token is not None:
            if self.credentials.check_token(token):
                if request.headers.get("Upgrade", "").lower() == "websocket":
                    return None
                query = urlencode(args)
                return answer(302, headers={"Location": request.path + ("?" + query if query else "")},
                              cookie=self._new_session(), secure=secure)
            return answer(403, message_page(403, "serve.login_failed"))
        if path == "login":
            return self._login(app, request, answer, secure, client)
        if path.startswith(_PUBLIC):
            return None  # stylesheets and scripts of the pages; they hold no data
        api = path.startswith(_API)
        if request.method == "GET" and not api and request.headers.get("Upgrade", "").lower() != "websocket":
            target = request.uri if request.uri.startswith("/") and not request.uri.startswith("//") else "/"
            return answer(302, headers={"Location": f"{self.base_url}login?next={quote(target, safe='')}"})
        return answer(403, message_page(403, "serve.login_needed"))

    def _session_ok(self, request: Any) -> bool:
        from tornado.httputil import parse_cookie

        raw = request.headers.get("Cookie")
        cookie = parse_cookie(raw).get(COOKIE) if raw else None  # lenient: other sites' odd cookies do no harm
        if not cookie:
            return False
        value = tornado.web.decode_signed_value(self.credentials.secret, COOKIE, cookie, max_age_days=SESSION_DAYS)
        return value is not None and value.startswith(b"session:")

    def _new_session(self) -> str:
        signed = tornado.web.create_signed_value(self.credentials.secret, COOKIE, f"session:{time.time():.0f}")
        return signed.decode("ascii")

    def _next(self, request: Any) -> str:
        nxt = dict(parse_qsl(request.query)).get("next", "")
        if nxt.startswith(self.base_url) and not nxt.startswith("//") and "\\" not in nxt:
            return nxt
        return self.base_url

    def _login(self, app: Any, request: Any, answer: Any, secure: bool, client: str) -> Any:
        return app.get_handler_delegate(request, LoginHandler, {"guard": self})

    def _dashboard(self, app: Any, request: Any, mode: str, name: str, client: str, answer: Any) -> Any | None:
        from workbench.app.url import check_query

        if self.notebooks is not None and not (self.notebooks / name).is_file():
            return None  # Voila answers 404
        page_path = f"{self.base_url}voila/render/{name}"
        try:
            values = check_query(request.query)
        except ParameterError as exc:
            return answer(400, refused_page(str(exc), page_path, self.base_url))
        stem = name[:-len(".ipynb")]
        if mode == "render" and self.snapshots is not None and request.method in ("GET", "HEAD"):
            snap = self.snapshots.find(stem, values)
            if snap is not None:
                try:
                    body = self.page_cache.get(snap, self.base_url, f"{self.base_url}workbench/assets/")
                except (OSError, UnicodeDecodeError):  # the run folder went away since the scan: compute live
                    self.snapshots.refresh(force=True)
                else:
                    return app.get_handler_delegate(request, SnapshotHandler, {"body": body})
        if not self.pages.allow(client):
            wait = self.pages.retry_after(client)
            return answer(429, message_page(429, "serve.rate", seconds=wait), headers={"Retry-After": str(wait)})
        if self.kernels is not None:
            from workbench.serve.kernels import CLIENT_HEADER

            request.headers[CLIENT_HEADER] = client  # replaces any such header the client sent
            refusal = self._room(client)
            if refusal is not None:
                if self.limits.room_wait <= 0:
                    status, body, headers = refusal
                    return answer(status, body, headers=headers)
                request.workbench_wait = lambda: self._wait_for_room(client)  # the page handler waits first
        from workbench.serve.snapshot import normalise

        if normalise(values) == normalise({}):
            _set_query(request, "")  # the defaults: a preheated kernel can serve it
        if mode == "live":
            request.path = f"{self.base_url}voila/render/{name}"
            request.uri = request.path + (f"?{request.query}" if request.query else "")
        return None

    def _room(self, client: str) -> tuple[int, str, dict[str, str]] | None:
        """None when ``client`` may have one more kernel now, else the 429 answer (status, body, headers)."""
        if not self.kernels.client_has_room(client, self.limits.kernels_per_client):
            return 429, message_page(429, "serve.client_busy", kernels=self.limits.kernels_per_client), \
                {"Retry-After": "30"}
        if not self.kernels.has_room():
            return 429, message_page(429, "serve.busy", kernels=self.limits.max_kernels), {"Retry-After": "30"}
        return None

    async def _wait_for_room(self, client: str) -> tuple[int, str, dict[str, str]] | None:
        """Look for room again every quarter of a second for ``room_wait`` seconds; the refusal if there is none."""
        import asyncio

        deadline = time.monotonic() + self.limits.room_wait
        while True:
            await asyncio.sleep(0.25)
            refusal = self._room(client)
            if refusal is None or time.monotonic() >= deadline:
                if refusal is not None:
                    describe = getattr(self.kernels, "describe", None)
                    logging.getLogger("workbench.serve").warning(
                        "no room for a page of %s after %.0f s: %s", client, self.limits.room_wait,
                        describe() if describe is not None else "")
                return refusal


def _set_query(request: Any, query: str) -> None:
    from tornado.httputil import parse_qs_bytes

    request.query = query
    request.uri = request.path + (f"?{query}" if query else "")
    request.query_arguments = parse_qs_bytes(query, keep_blank_values=True)
    request.arguments = {k: list(v) for k, v in request.query_arguments.items()}


def login_page(next_url: str, failed: bool, has_password: bool) -> str:
    """The bilingual login form (password, or the token printed at start)."""
    from workbench.text.catalogue import message

    esc = html.escape
    zh, en = (lambda k: message(k, "zh")), (lambda k: message(k, "en"))
    wrong = (f"<p class='wb-login-failed' role='alert'>{esc(zh('serve.login.wrong'))} · {esc(en('serve.login.wrong'))}</p>"
             if failed else "")
    hint = "serve.login.hint_password" if has_password else "serve.login.hint_token"
    return (f"<!DOCTYPE html><html lang='zh'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{esc(zh('serve.login.title'))} · {esc(en('serve.login.title'))}</title>"
            f"<style>body{{font:15px/1.6 system-ui,'Noto Sans CJK SC',sans-serif;max-width:30em;margin:4em auto;"
            f"padding:0 1em}} input{{font:inherit;padding:4px 8px}}</style></head><body>"
            f"<h1>{esc(zh('serve.login.title'))} · {esc(en('serve.login.title'))}</h1>{wrong}"
            f"<form method='post' class='wb-login'><input type='hidden' name='next' value='{esc(next_url)}'>"
            f"<label>{esc(zh('serve.login.password'))} · {esc(en('serve.login.password'))}<br>"
            f"<input type='password' name='password' autocomplete='current-password' autofocus required></label> "
            f"<button type='submit'>{esc(zh('serve.login.submit'))} · {esc(en('serve.login.submit'))}</button></form>"
            f"<p>{esc(zh(hint))}<br>{esc(en(hint))}</p></body></html>")


class LoginHandler(tornado.web.RequestHandler):
    """``/login``: the form (GET) and its check (POST: the password, or the start token)."""

    def initialize(self, guard: Guard) -> None:
        self.guard = guard

    def set_default_headers(self) -> None:
        _security_headers(self)
        self.set_header("Cache-Control", "no-store")

    def check_xsrf_cookie(self) -> None:  # the guard checked Host and Origin already
        return None

    def _next(self) -> str:
        nxt = self.get_argument("next", "")
        base = self.guard.base_url
        if nxt.startswith(base) and not nxt.startswith("//") and "\\" not in nxt:
            return nxt
        return base

    def get(self) -> None:
        self.write(login_page(self._next(), False, has_password=self.guard.credentials.password is not None))

    def post(self) -> None:
        client = self.request.remote_ip or "?"
        if not self.guard.logins.allow(client):
            wait = self.guard.logins.retry_after(client)
            self.set_status(429)
            self.set_header("Retry-After", str(wait))
            self.write(message_page(429, "serve.rate", seconds=wait))
            return
        secret = self.get_body_argument("password", "")
        creds = self.guard.credentials
        if creds.check_password(secret) or creds.check_token(secret):
            self.set_cookie(COOKIE, self.guard._new_session(), httponly=True, samesite="Lax",
                            secure=self.request.protocol == "https", expires_days=SESSION_DAYS)
            self.redirect(self._next())
            return
        self.set_status(403)
        self.write(login_page(self._next(), True, has_password=creds.password is not None))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.finish(message_page(status_code, "serve.error"))


class StatusHandler(tornado.web.RequestHandler):
    """``/workbench/status``: kernels, their cap, snapshots (and how many are drawn ahead) and the
    server's memory, as JSON."""

    def initialize(self, guard: Guard) -> None:
        self.guard = guard

    def get(self) -> None:
        from workbench.serve.kernels import process_memory_mb

        kernels = self.guard.kernels.counts() if self.guard.kernels is not None else {}
        snaps = len(self.guard.snapshots) if self.guard.snapshots is not None else 0
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        drawer = self.guard.drawer
        drawn = drawer.counts() if drawer is not None else {"drawn": 0, "failed": 0, "waiting": 0}
        self.write(json.dumps({"kernels": kernels, "max_kernels": self.guard.limits.max_kernels,
                               "snapshots": snaps, "drawn": drawn, "memory_mb": process_memory_mb()}))
