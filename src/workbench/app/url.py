"""Parameters read from a dashboard's URL, inside the notebook's kernel (see :mod:`workbench.serve.server`).

The server side (Voila's routing of query strings to fresh kernels) lives in ``workbench.serve``;
this module is what a kernel runs: it reads the query string Voila hands it and validates it.
"""

from __future__ import annotations

import html
import json
import os
import sys
import time
from urllib.parse import parse_qsl

from workbench.app import params as params_mod
from workbench.errors import ParameterError, WorkbenchError

#: Parameters that only the server may set; a dashboard URL that names one is refused.
SERVER_ONLY: dict[str, str] = {
    "data": "the server chooses the data (`workbench serve --data PATH`)",
    "findings_path": "dashboards do not write files",
    "engine": "the server chooses where queries run (`workbench serve --engine spark`)",
}

#: Parameters a dashboard URL may set.
URL_PARAMETERS: frozenset[str] = frozenset(set(params_mod.SPEC) - set(SERVER_ONLY))

#: Seconds a preheated kernel keeps trying to reach the Voila server that started it.
CONNECT_TIMEOUT = 120.0

#: Set by ``workbench serve`` for its kernels: requests with a query string get kernels of their own.
QUERY_KERNELS_ENV = "WORKBENCH_QUERY_KERNELS"

_request_info: dict[str, str] | None = None


# ----- URL parameters (runs inside the notebook's kernel) -------------------------------------
def check_query(query: str) -> dict[str, str]:
    """Parse and check a URL query string; return ``{name: value}`` (values as given, text).

    Raises :class:`ParameterError` when a name is unknown, server-only or repeated, or a value
    is not valid for its parameter (see :func:`workbench.app.params.validate`); the message names
    every problem and lists the parameters a URL may set.
    """
    values: dict[str, str] = {}
    problems: list[str] = []
    try:
        pairs = parse_qsl(query or "", keep_blank_values=True, strict_parsing=False, max_num_fields=50)
    except ValueError as exc:
        raise ParameterError(f"the address's parameters cannot be read: {exc}") from None
    for name, value in pairs:
        if name in SERVER_ONLY:
            problems.append(f"parameter '{name}' cannot be set from a dashboard address: {SERVER_ONLY[name]}")
        elif name in values:
            problems.append(f"parameter '{name}' is given more than once")
        else:
            values[name] = value
    if problems:
        raise ParameterError("; ".join(problems) + "\nvalid parameters:\n" + params_mod.describe(set(URL_PARAMETERS)))
    params_mod.validate(values, allowed=set(URL_PARAMETERS))
    return values


def in_voila() -> bool:
    """Whether this process is a kernel started by Voila (it sets ``VOILA_PREHEAT`` for every kernel)."""
    return "VOILA_PREHEAT" in os.environ


def request_info(connect_timeout: float = CONNECT_TIMEOUT) -> dict[str, str]:
    """The details of the HTTP request this dashboard kernel serves (empty outside Voila).

    Keys follow CGI: ``QUERY_STRING``, ``SCRIPT_NAME`` (the page's path), ``SERVER_NAME``...
    A preheated kernel under ``workbench serve`` only ever serves a page without a query
    string and returns ``{}`` at once; under another Voila it blocks until a viewer opens the
    page (see the module's doc), and the details are also put into ``os.environ``, as Voila's
    own helper does. Raises :class:`WorkbenchError` when such a kernel cannot reach its server.
    """
    global _request_info
    if not in_voila():
        return {}
    if _request_info is None:
        if os.environ.get("VOILA_PREHEAT") == "True":
            if os.environ.get(QUERY_KERNELS_ENV) == "fresh":
                _request_info = {}
                return {}
            received = _receive_request_info(connect_timeout)
            os.environ.update(received)
        keys = ("QUERY_STRING", "SCRIPT_NAME", "PATH_INFO", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL")
        _request_info = {k: os.environ[k] for k in keys if k in os.environ}
    return dict(_request_info)


def _query_url() -> str:
    """The server's websocket that hands a preheated kernel its request (``/voila/query/<kernel id>``)."""
    kernel_id = os.environ.get("VOILA_KERNEL_ID")
    if not kernel_id:
        raise WorkbenchError("this preheated dashboard kernel does not know its id (VOILA_KERNEL_ID is not set)")
    protocol = os.environ.get("VOILA_WS_PROTOCOL", "ws")
    host = os.environ.get("VOILA_APP_IP", "127.0.0.1")
    port = os.environ.get("VOILA_APP_PORT", "8866")
    base = os.environ.get("VOILA_WS_BASE_URL") or os.environ.get("VOILA_SERVER_URL", "/")
    return f"{protocol}://{host}:{port}{base.rstrip('/')}/voila/query/{kernel_id}"


def _receive_request_info(connect_timeout: float) -> dict[str, str]:
    """Wait on the server's websocket until the request arrives; return its details.

    Retries while the server is not listening yet (a pool fills while Voila starts) or
    the connection drops, for at most ``connect_timeout`` seconds without a connection.
    """
    from websockets.exceptions import WebSocketException
    from websockets.sync.client import connect

    url = _query_url()
    deadline = time.monotonic() + connect_timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with connect(url, open_timeout=5, proxy=None) as socket:
                deadline = float("inf")  # connected: now wait as long as it takes for a viewer
                payload = socket.recv()  # blocks until a request takes this kernel
            info = json.loads(payload)
            return {str(k): str(v) for k, v in info.items()}
        except (OSError, TimeoutError, WebSocketException) as exc:
            last = exc
            if deadline == float("inf"):  # the connection dropped: allow the server time to come back
                deadline = time.monotonic() + connect_timeout
            time.sleep(0.25)
    raise WorkbenchError(f"the dashboard could not receive its address from the Voila server at {url}: {last}")


def url_parameters() -> dict[str, str]:
    """Notebook parameters from the dashboard URL's query string; empty outside Voila.

    Returns ``{name: value}`` for names in :data:`workbench.app.params.SPEC` (text, as given; the
    caller validates them again with the notebook's other values). A query string that
    is not acceptable (unknown, repeated or server-only names, invalid values) is refused:
    the reason is shown in the page and :class:`ParameterError` is raised, so the notebook
    stops before any data is read. Nothing from the URL is ever executed.
    """
    info = request_info()
    query = info.get("QUERY_STRING", "")
    if not query:
        return {}
    try:
        return check_query(query)
    except ParameterError as exc:
        _show_refusal(str(exc), info.get("SCRIPT_NAME", ""))
        raise


def refusal_html(message: str, page_path: str = "") -> str:
    """The box shown in a dashboard whose URL parameters were refused (``message`` is escaped)."""
    problems, _, valid = message.partition("\nvalid parameters:\n")
    link = html.escape(page_path, quote=True)
    plain = (f" <a href='{link}'>Open the dashboard without parameters</a> · <a href='{link}'>打开不带参数的页面</a>."
             if page_path else "")
    valid_block = (f"<details><summary>Valid parameters · 可用参数</summary><pre>{html.escape(valid)}</pre></details>"
                   if valid else "")
    return ("<div class='wb-refused' role='alert' style='border-left:4px solid #cf222e;background:#fff5f5;"
            "padding:8px 16px;margin:12px 0'>"
            "<h3 style='margin:4px 0'>The link's parameters were refused · 链接参数无效</h3>"
            f"<p class='wb-refused-reason'>{html.escape(problems)}</p>"
            f"<p>Nothing was run: correct the address.{plain}</p>{valid_block}</div>")


def _show_refusal(message: str, page_path: str) -> None:
    try:
        from IPython.display import HTML, display
    except ImportError:  # pragma: no cover - a kernel always has IPython
        print(message, file=sys.stderr)
        return
    display(HTML(refusal_html(message, page_path)))
