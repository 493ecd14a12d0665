"""``workbench serve`` safe to share: login beyond 127.0.0.1, Host/Origin checks, 400 for refused
parameters, per-client limits, a cap on live kernels, a clear error when the port is taken.

The servers here serve a folder of tiny notebooks (``--notebooks``), so that a kernel renders in
about a second; what is tested is the server, not the topics.
"""

from __future__ import annotations

import html
import http.client
import json
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import nbformat
import pytest
from test_serve import ROOT, isolated_env, running_server

from workbench.errors import ParameterError, WorkbenchError
from workbench.serve import auth
from workbench.serve.guard import Guard, HostPolicy, RateLimiter, is_local_address
from workbench.serve.server import preheat_choice, preheat_denylist
from workbench.serve.snapshot import normalise, query_for

PASSWORD = "correct horse battery"
LOGS: dict[str, Path] = {}  # base URL -> the server's log


# ----- helpers -------------------------------------------------------------------------------------
def tiny_notebooks(folder: Path, seconds: float = 0.0) -> Path:
    """``folder/01_tiny.ipynb``: prints the URL parameters it was given (after ``seconds`` of work)."""
    folder.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(
        "import time\nfrom workbench.app.url import url_parameters\nvalues = url_parameters()\n"
        f"time.sleep({seconds})\nprint('tiny-page', sorted(values.items()))")]
    nbformat.write(nb, str(folder / "01_tiny.ipynb"))
    return folder


def fetch(url: str, method: str = "GET", headers: dict[str, str] | None = None, body: str | None = None,
          timeout: float = 120.0) -> tuple[int, dict[str, str], str]:
    """Status, headers (lower-case names; Set-Cookie joined) and body of one request; no redirect followed."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    conn.request(method, path or "/", body=body, headers=headers or {})
    answer = conn.getresponse()
    got = {k.lower(): v for k, v in answer.getheaders()}
    got["set-cookie"] = "; ".join(v for k, v in answer.getheaders() if k.lower() == "set-cookie")
    text = answer.read().decode("utf-8", "replace")
    conn.close()
    return answer.status, got, text


def session_cookie(headers: dict[str, str]) -> str:
    """The ``name=value`` of the session cookie set by an answer."""
    for part in headers.get("set-cookie", "").split(";"):
        part = part.strip()
        if part.startswith(auth.COOKIE + "="):
            return part
    raise AssertionError(f"no {auth.COOKIE} cookie in {headers.get('set-cookie')!r}")


def status(base: str, cookie: str = "") -> dict:
    code, _, body = fetch(f"{base}workbench/status", headers={"Cookie": cookie} if cookie else {})
    assert code == 200, body[:300]
    return json.loads(body)


WS_HEADERS = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
              "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}


# ----- pieces -----------------------------------------------------------------------------------------
def test_only_loopback_addresses_count_as_local() -> None:
    assert is_local_address("127.0.0.1") and is_local_address("::1") and is_local_address("localhost")
    assert not is_local_address("0.0.0.0") and not is_local_address("192.168.1.20") and not is_local_address("::")


def test_host_policy_allows_this_server_s_names_only() -> None:
    policy = HostPolicy.for_address("192.168.1.20", ["dash.example.com"])
    for host in ("localhost:8866", "127.0.0.1:8866", "[::1]:8866", "192.168.1.20:8866", "DASH.example.com"):
        assert policy.host_ok(host), host
    for host in ("evil.example", "192.168.1.21:8866", "dash.example.com.evil.example", "", "[::2]:80"):
        assert not policy.host_ok(host), host
    assert policy.origin_ok(None) and policy.origin_ok("http://dash.example.com:443")
    assert not policy.origin_ok("http://evil.example") and not policy.origin_ok("null")
    assert not policy.origin_ok("file://dash.example.com")
    wildcard = HostPolicy.for_address("0.0.0.0")
    assert wildcard.host_ok(socket.gethostname()) and not wildcard.host_ok("0.0.0.0:8866")


def test_rate_limiter_counts_per_client_in_a_sliding_window() -> None:
    limiter = RateLimiter(3, window=10.0)
    assert [limiter.allow("a", now=t) for t in (0, 1, 2, 3)] == [True, True, True, False]
    assert limiter.allow("b", now=3)  # another client has its own allowance
    assert limiter.retry_after("a", now=3) == 8
    assert limiter.allow("a", now=10.5)  # the first hit left the window


def test_the_pages_scripts_and_stylesheets_do_not_use_up_a_client_s_requests() -> None:
    """The load test: pages opened without a browser cache (a fresh context each) fetch dozens of
    scripts and stylesheets, which used up the 600 requests a minute and refused the next pages and
    the kernels' shutdown on unload. They are counted apart, against a limit of their own."""
    import tornado.web
    from tornado.httputil import HTTPHeaders, HTTPServerRequest, RequestStartLine

    from workbench.serve.guard import Limits

    guard = Guard(hosts=HostPolicy.for_address("127.0.0.1"), credentials=auth.Credentials(required=False),
                  limits=Limits(requests_per_minute=3, assets_per_minute=50))

    def status_of(path: str, method: str = "GET") -> int | None:
        request = HTTPServerRequest(headers=HTTPHeaders({"Host": "127.0.0.1:8866"}),
                                    start_line=RequestStartLine(method, path, "HTTP/1.1"))
        request.remote_ip = "10.0.0.9"
        delegate = guard.route(tornado.web.Application(), request)
        return None if delegate is None else delegate.handler_kwargs["status"]

    assets = [status_of(f"/voila/static/chunk-{i}.js") for i in range(40)]
    assert assets == [None] * 40  # all passed on to their handlers
    assert [status_of("/voila/api/shutdown/k1", "POST") for _ in range(3)] == [None] * 3
    assert status_of("/voila/api/shutdown/k1", "POST") == 429  # the ordinary limit still holds
    assert [status_of(f"/workbench/assets/p{i}.js") for i in range(10)] == [None] * 10
    assert status_of("/workbench/assets/one-too-many.js") == 429  # and the assets' own


def test_password_is_stored_as_a_salted_hash_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = auth.set_password(PASSWORD, tmp_path / "pw.json")
    text = path.read_text()
    assert PASSWORD not in text and "scrypt" in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    record = auth.load_password(path)
    assert auth.verify_password(PASSWORD, record) and not auth.verify_password(PASSWORD + "!", record)
    assert auth.hash_password(PASSWORD)["salt"] != auth.hash_password(PASSWORD)["salt"]
    with pytest.raises(Exception, match="at least"):
        auth.set_password("short", tmp_path / "pw2.json")
    (tmp_path / "bad.json").write_text("not json")
    with pytest.raises(Exception, match="cannot be read"):
        auth.load_password(tmp_path / "bad.json")


def test_credentials_check_token_and_password() -> None:
    creds = auth.Credentials(required=True, token="tok-123", password=auth.hash_password(PASSWORD))
    assert creds.check_token("tok-123") and not creds.check_token("tok-124") and not creds.check_token("")
    assert creds.check_password(PASSWORD) and not creds.check_password("x")
    assert not auth.Credentials(required=True, token="t").check_password(PASSWORD)  # none set


def test_page_parameters_have_one_canonical_form() -> None:
    assert normalise({}) == normalise({"language": "zh", "period": "last-28d", "threshold_pct": "5"})
    assert normalise({"channels": "jd,tmall"}) == normalise({"channels": "tmall,jd"})
    assert normalise({"channels": "all"}) == normalise({})
    assert normalise({"language": "en"}) != normalise({})
    assert normalise({"start": "2025-01-01", "end": "2025-01-31", "period": "last-7d"}) == \
        normalise({"start": "2025-01-01", "end": "2025-01-31"})
    with pytest.raises(ParameterError):
        normalise({"period": "forever"})
    assert query_for(dict(normalise({}))) == ""
    assert query_for(dict(normalise({})), language="en") == "language=en"
    assert query_for(dict(normalise({"channels": "tmall,jd", "threshold_pct": "7.5"}))) == \
        "channels=jd,tmall&threshold_pct=7.5"


def test_the_preheat_denylist_matches_voila_s_absolute_paths() -> None:
    import re

    pages = ["00_overview.ipynb", "01_sales_traffic.ipynb"]
    patterns = preheat_denylist(pages, ["01_sales_traffic.ipynb"])
    assert len(patterns) == 1
    assert re.match(patterns[0], str(ROOT / "notebooks" / "00_overview.ipynb"))
    for other in ("01_sales_traffic.ipynb", "100_overview.ipynb", "00_overview.ipynb.bak"):
        assert not re.match(patterns[0], str(ROOT / "notebooks" / other)), other


def test_preheating_skips_notebooks_a_snapshot_answers() -> None:
    pages = ["00_overview.ipynb", "01_sales_traffic.ipynb", "02_products_pricing.ipynb", "03_marketing.ipynb"]
    assert preheat_choice(pages, {"00_overview", "02_products_pricing"}, "auto", 5) == \
        ["01_sales_traffic.ipynb", "03_marketing.ipynb"]
    assert preheat_choice(pages, set(), "auto", 2) == pages[:2]
    assert preheat_choice(pages, set(pages), "all", 2) == pages
    assert preheat_choice(pages, set(), "none", 2) == []
    assert preheat_choice(pages, set(), "03_marketing, 01_sales_traffic.ipynb", 0) == [pages[1], pages[3]]
    with pytest.raises(WorkbenchError, match="99_nowhere"):
        preheat_choice(pages, set(), "01_sales_traffic,99_nowhere", 2)


def _route(guard: Guard, uri: str, **headers: str) -> Any:
    """What the guard decides for a GET of ``uri`` (None: Voila handles it)."""
    import tornado.web
    from tornado.httputil import HTTPHeaders, HTTPServerRequest, RequestStartLine

    request = HTTPServerRequest(headers=HTTPHeaders({"Host": "127.0.0.1:8866", **headers}),
                                start_line=RequestStartLine("GET", uri, "HTTP/1.1"))
    return guard.route(tornado.web.Application(), request)


def test_the_guard_answers_an_unexpected_error_with_a_bilingual_500_and_no_traceback() -> None:
    class Broken:
        def find(self, *args: Any) -> None:
            raise RuntimeError("disk on fire")

    guard = Guard(hosts=HostPolicy.for_address("127.0.0.1"), credentials=auth.Credentials(required=False),
                  snapshots=Broken())
    delegate = _route(guard, "/voila/render/01_tiny.ipynb")
    assert delegate.handler_kwargs["status"] == 500
    body = delegate.handler_kwargs["body"]
    assert "出错了" in body and "Something went wrong" in body and "disk on fire" not in body
    assert _route(guard, "/voila/static/voila.js") is None  # the rest goes on to Voila
    assert _route(guard, "/", Host="evil.example").handler_kwargs["status"] == 403


# ----- over HTTP --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``workbench serve --ip 0.0.0.0`` with a password set: login required. Yields the base URL (127.0.0.1)."""
    tmp = tmp_path_factory.mktemp("shared")
    home = tmp / "home"
    env = {"WORKBENCH_HOME": str(home)}
    done = subprocess.run([sys.executable, "-m", "workbench.cli", "serve", "passwd", "--password-stdin"],
                          check=False, cwd=ROOT, env=isolated_env(tmp) | env, input=PASSWORD + "\n", capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert str(home / "serve-password.json") in done.stdout and PASSWORD not in done.stdout
    data = tmp / "shop"
    data.mkdir()
    (data / "orders.csv").write_text("order_id\n")
    with running_server(tmp / "server", preheat=False, data=data, ready_timeout=180, env=env,
                        extra=("--ip", "0.0.0.0", "--notebooks", str(tiny_notebooks(tmp / "nb")))) as base:
        LOGS[base] = tmp / "server" / "serve.log"
        yield base


def _token(base: str) -> str:
    """The token of the login link the server at ``base`` printed at start."""
    log = LOGS[base]
    for line in log.read_text().splitlines():
        if "?token=" in line:
            return line.split("?token=")[1].split()[0]
    raise AssertionError("no login link printed:\n" + log.read_text()[-2000:])


def test_beyond_localhost_every_request_needs_a_login(shared_server: str) -> None:
    code, headers, _ = fetch(shared_server)
    assert code == 302 and headers["location"].startswith("/login?next=")
    code, headers, _ = fetch(f"{shared_server}voila/render/01_tiny.ipynb?language=en")
    assert code == 302 and "/login?next=%2Fvoila%2Frender%2F01_tiny.ipynb" in headers["location"]
    code, _, body = fetch(f"{shared_server}api/kernels/00000000-0000-0000-0000-000000000000/channels",
                          headers=WS_HEADERS)
    assert code == 403 and "需要登录" in body and "Login needed" in body  # kernel channels too
    code, _, _ = fetch(f"{shared_server}workbench/status")
    assert code == 403
    code, _, page = fetch(f"{shared_server}login")
    assert code == 200 and "type='password'" in page and "登录" in page and "Log in" in page


def test_the_password_logs_in_and_a_wrong_one_does_not(shared_server: str) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    code, headers, page = fetch(f"{shared_server}login?next=/voila/render/01_tiny.ipynb", "POST", form,
                                "password=wrong+password")
    assert code == 403 and "wb-login-failed" in page and auth.COOKIE not in headers["set-cookie"]
    code, headers, _ = fetch(f"{shared_server}login?next=/voila/render/01_tiny.ipynb", "POST", form,
                             "password=correct+horse+battery")
    assert code == 302 and headers["location"] == "/voila/render/01_tiny.ipynb"
    assert "httponly" in headers["set-cookie"].lower()
    cookie = session_cookie(headers)
    code, _, landing = fetch(shared_server, headers={"Cookie": cookie})
    assert code == 200 and "voila/render/01_tiny.ipynb" in landing
    code, _, _ = fetch(shared_server, headers={"Cookie": cookie[:-3] + "abc"})  # a forged cookie
    assert code == 302
    # the kernel channels accept the same credential: past the guard, Jupyter answers for the unknown kernel
    code, _, _ = fetch(f"{shared_server}api/kernels/00000000-0000-0000-0000-000000000000/channels",
                       headers=WS_HEADERS | {"Cookie": cookie})
    assert code == 404
    code, _, _ = fetch(f"{shared_server}api/kernels/00000000-0000-0000-0000-000000000000/channels",
                       headers=WS_HEADERS | {"Cookie": cookie, "Origin": "http://evil.example"})
    assert code == 403


def test_the_printed_token_link_logs_in_and_leaves_the_address(shared_server: str) -> None:
    token = _token(shared_server)
    code, headers, _ = fetch(f"{shared_server}?token={token}")
    assert code == 302 and headers["location"] == "/" and auth.COOKIE in headers["set-cookie"]
    cookie = session_cookie(headers)
    assert status(shared_server, cookie)["kernels"]["request"] == 0
    code, _, body = fetch(f"{shared_server}?token=not-the-token")
    assert code == 403 and "登录失败" in body and "Login failed" in body


def test_a_hostile_host_header_is_refused(shared_server: str) -> None:
    code, _, body = fetch(shared_server, headers={"Host": "attacker.example:8866"})
    assert code == 403 and "拒绝访问" in body and "Access refused" in body
    assert "attacker.example" in body and "Traceback" not in body
    code, _, _ = fetch(f"{shared_server}voila/static/voila.js", headers={"Host": "attacker.example"})
    assert code == 403  # static files too: the check comes before any handler


def test_a_refused_parameter_answers_400_with_the_bilingual_reason(shared_server: str) -> None:
    code, headers, _ = fetch(f"{shared_server}login", "POST", {"Content-Type": "application/x-www-form-urlencoded"},
                             f"password={PASSWORD.replace(' ', '+')}")
    cookie = session_cookie(headers)
    for query, reason in (("colour=red", "unknown parameter 'colour'"),
                          ("data=/etc", "cannot be set from a dashboard address"),
                          ("period=__import__('os')", "expected one of")):
        code, _, page = fetch(f"{shared_server}voila/render/01_tiny.ipynb?{query}", headers={"Cookie": cookie})
        assert code == 400, (query, page[:300])
        assert "链接参数无效" in page and "The link's parameters were refused" in page
        assert reason in html.unescape(page) and "Traceback" not in page and "wb-refused" in page
    assert status(shared_server, cookie)["kernels"]["request"] == 0  # no kernel was started for any of them


@pytest.fixture(scope="module")
def capped_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A local server allowing 2 live dashboards, reclaiming kernels idle for 1 s."""
    tmp = tmp_path_factory.mktemp("capped")
    with running_server(tmp / "server", preheat=False, ready_timeout=180,
                        extra=("--max-kernels", "2", "--reclaim-after", "1",
                               "--notebooks", str(tiny_notebooks(tmp / "nb")))) as base:
        yield base


def test_many_distinct_query_strings_do_not_start_a_kernel_each(capped_server: str) -> None:
    seen = []
    for days in range(7, 13):  # six distinct, valid query strings
        code, _, page = fetch(f"{capped_server}voila/render/01_tiny.ipynb?period=last-{days}d")
        assert code == 200 and f"('period', 'last-{days}d')" in html.unescape(page), page[-500:]
        seen.append(status(capped_server)["kernels"]["request"])
        time.sleep(1.2)  # the kernel of a fetched page nobody connects to becomes reclaimable
    assert max(seen) <= 2 and seen[-1] == 2, seen


def test_at_the_cap_with_no_idle_kernel_a_request_gets_429(tmp_path: Path) -> None:
    """Two live dashboards in all, one per client (clients told apart by the proxy's X-Real-Ip); a page
    that finds no room waits for it 1 s here (``WORKBENCH_ROOM_WAIT``), then gets 429."""
    with running_server(tmp_path / "server", preheat=False, ready_timeout=180, env={"WORKBENCH_ROOM_WAIT": "1"},
                        extra=("--max-kernels", "2", "--kernels-per-client", "1", "--reclaim-after", "600",
                               "--behind-proxy", "--notebooks", str(tiny_notebooks(tmp_path / "nb")))) as base:
        def live(client: str, days: int) -> tuple[int, dict[str, str], str]:
            return fetch(f"{base}voila/render/01_tiny.ipynb?period=last-{days}d",
                         headers={"X-Real-Ip": client, "X-Workbench-Client": "someone-else"})

        assert live("10.0.0.1", 7)[0] == 200
        code, headers, page = live("10.0.0.1", 8)  # the same client again: its one kernel is in use
        assert code == 429 and headers.get("retry-after") == "30"
        assert "实时页面过多" in page and "Too many live pages" in page and "Traceback" not in page
        assert live("10.0.0.2", 9)[0] == 200  # another client still may
        code, _, page = live("10.0.0.3", 10)  # but the server's two are taken
        assert code == 429 and "服务器繁忙" in page and "The server is busy" in page
        assert status(base)["kernels"]["request"] == 2


def test_the_kernel_of_a_page_that_left_is_reclaimed_at_once(tmp_path: Path) -> None:
    """A viewer moving from page to page never waits ``--reclaim-after`` for the kernel of the page left."""
    import re

    from websockets.sync.client import connect

    with running_server(tmp_path / "server", preheat=False, ready_timeout=180, env={"WORKBENCH_ROOM_WAIT": "1"},
                        extra=("--max-kernels", "1", "--kernels-per-client", "1", "--reclaim-after", "600",
                               "--notebooks", str(tiny_notebooks(tmp_path / "nb")))) as base:
        code, _, page = fetch(f"{base}voila/render/01_tiny.ipynb?period=last-7d")
        assert code == 200
        kernel = re.search(r'kernelId": "([0-9a-f-]+)"', page).group(1)
        assert fetch(f"{base}voila/render/01_tiny.ipynb?period=last-8d")[0] == 429  # its page may still connect
        with connect(f"ws://127.0.0.1:{urlsplit(base).port}/api/kernels/{kernel}/channels", open_timeout=60,
                     proxy=None):
            time.sleep(2.5)  # the page is connected (the server looks every second)
            assert fetch(f"{base}voila/render/01_tiny.ipynb?period=last-9d")[0] == 429  # and in use
        time.sleep(2.5)
        code, _, page = fetch(f"{base}voila/render/01_tiny.ipynb?period=last-10d")  # the page has left
        assert code == 200 and "('period', 'last-10d')" in html.unescape(page)
        assert status(base)["kernels"]["request"] == 1


def test_serve_says_clearly_when_its_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "workbench.cli", "serve", "--port", str(port), "--no-preheat",
                               "--reports", str(tmp_path)], check=False, cwd=ROOT, env=isolated_env(tmp_path),
                              capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert f"port {port} on 127.0.0.1 is already in use" in done.stderr and "--port" in done.stderr
    assert "http://" not in done.stdout  # no URL printed for a server that is not there
