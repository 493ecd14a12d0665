"""Dashboards: URL parameters (with and without preheated kernels), the landing data, the Voila
and JupyterLab command lines, the template, and ``workbench serve`` answering over HTTP.

:func:`running_server` is also used by ``test_browser.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from workbench.app import url
from workbench.app.params import SPEC
from workbench.errors import ParameterError, WorkbenchError
from workbench.serve import server as serve

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
TEMPLATE = serve.template_root() / "voila" / "templates" / "workbench"


# ----- helpers shared with test_browser.py -----------------------------------------------------
def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def isolated_env(tmp: Path) -> dict[str, str]:
    """This process's environment with Jupyter's and IPython's folders and TMPDIR under ``tmp``."""
    env = dict(os.environ)
    for var, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                     ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython"), ("TMPDIR", "tmp")):
        (tmp / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(tmp / sub)
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    env["WORKBENCH_DRAWN_DIR"] = str(tmp / "drawn")  # snapshots drawn ahead stay in the test's folder
    return env


def http_get(url: str, timeout: float = 60.0) -> tuple[int, str]:
    """Status and body of a GET (the body of an error answer too)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return answer.status, answer.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


@contextmanager
def running_server(tmp: Path, *, preheat: bool = True, data: Path | None = None,
                   ready_timeout: float = 60.0, extra: tuple[str, ...] = (), reports: Path | None = None,
                   env: dict[str, str] | None = None) -> Iterator[str]:
    """Run ``workbench serve`` on a free port in its own process group; yield its base URL.

    ``extra``: more command-line arguments; ``reports``: the reports folder whose pages are
    snapshots (default: an empty folder, so that pages are computed live); ``env``: more
    environment variables. Waits until the landing page answers (preheating goes on in the
    background, one notebook after the other), and on exit stops the server with SIGTERM (SIGKILL
    after 20 s) and waits for it. The server's output is in ``tmp/serve.log``.
    """
    tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    if reports is None:
        reports = tmp / "no-reports"
        reports.mkdir(exist_ok=True)
    cmd = [sys.executable, "-m", "workbench.cli", "serve", "--port", str(port), "--reports", str(reports), *extra]
    if not preheat:
        cmd.append("--no-preheat")
    if data is not None:
        cmd += ["--data", str(data)]
    log_path = tmp / "serve.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=isolated_env(tmp) | (env or {}), stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + ready_timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"workbench serve exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"workbench serve not ready in {ready_timeout} s:\n{log_path.read_text()[-3000:]}")
            try:
                status, _ = http_get(base, timeout=2)
            except OSError:
                status = 0
            if status == 200:
                break
            time.sleep(0.2)
        yield base
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


# ----- URL parameters ----------------------------------------------------------------------------
def test_check_query_accepts_valid_parameters_as_text() -> None:
    got = serve.check_query("period=last-90d&channels=tmall,jd&language=en&threshold_pct=7.5")
    assert got == {"period": "last-90d", "channels": "tmall,jd", "language": "en", "threshold_pct": "7.5"}
    assert serve.check_query("") == {}
    assert serve.check_query("start=2025-01-01&end=2025-01-31") == {"start": "2025-01-01", "end": "2025-01-31"}


@pytest.mark.parametrize("query, words", [
    ("period=__import__('os').system('id')", ["period", "expected one of"]),
    ("language=fr", ["language", "zh, en"]),
    ("channels=tmall,nowhere", ["unknown channel nowhere"]),
    ("threshold_pct=1e3", ["threshold_pct", "expected a number"]),
    ("start=2025-02-01&end=2025-01-01", ["after end"]),
    ("colour=red", ["unknown parameter 'colour'"]),
    ("period=last-7d&period=last-28d", ["'period' is given more than once"]),
    ("data=/etc", ["'data' cannot be set from a dashboard address"]),
    ("findings_path=/tmp/x.json", ["'findings_path' cannot be set from a dashboard address"]),
])
def test_check_query_refuses_what_is_not_a_valid_parameter(query: str, words: list[str]) -> None:
    with pytest.raises(ParameterError) as caught:
        serve.check_query(query)
    message = str(caught.value)
    for word in words:
        assert word in message
    assert "valid parameters:" in message and "  period " in message
    assert "  data " not in message and "findings_path" not in message.split("valid parameters:")[1]


def test_url_parameters_cover_spec_except_server_only_names() -> None:
    assert serve.URL_PARAMETERS == set(SPEC) - {"data", "findings_path", "engine"}  # the server chooses these


@pytest.fixture
def kernel_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A clean slate for url_parameters(): no cached request, Voila's variables unset (restored after)."""
    monkeypatch.setattr(url, "_request_info", None)
    for var in ("VOILA_PREHEAT", "VOILA_KERNEL_ID", "VOILA_APP_PORT", "VOILA_APP_IP", "VOILA_SERVER_URL",
                "VOILA_WS_BASE_URL", "VOILA_WS_PROTOCOL", "QUERY_STRING", "SCRIPT_NAME", "PATH_INFO",
                "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL", "SERVER_SOFTWARE", serve.QUERY_KERNELS_ENV):
        monkeypatch.setenv(var, "x")  # records the variable so that teardown restores or removes it
        monkeypatch.delenv(var)
    return monkeypatch


def test_url_parameters_are_empty_outside_voila(kernel_env: pytest.MonkeyPatch) -> None:
    kernel_env.setenv("QUERY_STRING", "period=last-7d")  # e.g. a CGI environment, not a Voila kernel
    assert serve.url_parameters() == {}


def test_url_parameters_read_the_query_string_of_a_kernel_started_for_the_request(
        kernel_env: pytest.MonkeyPatch) -> None:
    kernel_env.setenv("VOILA_PREHEAT", "False")
    kernel_env.setenv("QUERY_STRING", "language=en&period=last-90d")
    assert serve.url_parameters() == {"language": "en", "period": "last-90d"}
    kernel_env.setenv("QUERY_STRING", "")
    kernel_env.setattr(url, "_request_info", None)
    assert serve.url_parameters() == {}


def test_a_refused_url_is_shown_in_the_page_and_stops_the_notebook(kernel_env: pytest.MonkeyPatch) -> None:
    shown: list[tuple[str, str]] = []
    kernel_env.setattr(url, "_show_refusal", lambda message, path: shown.append((message, path)))
    kernel_env.setenv("VOILA_PREHEAT", "False")
    kernel_env.setenv("SCRIPT_NAME", "/voila/render/01_sales_traffic.ipynb")
    kernel_env.setenv("QUERY_STRING", "period=<script>alert(1)</script>")
    with pytest.raises(ParameterError):
        serve.url_parameters()
    assert len(shown) == 1 and shown[0][1] == "/voila/render/01_sales_traffic.ipynb"
    page = serve.refusal_html(*shown[0])
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "class='wb-refused'" in page and "href='/voila/render/01_sales_traffic.ipynb'" in page


def _fake_voila_query_socket(port: int, kernel_id: str, payload: dict[str, str], delay: float) -> threading.Thread:
    """Serve Voila's ``/voila/query/<kernel id>`` websocket after ``delay`` s; send ``payload`` once."""
    from websockets.sync.server import serve as ws_serve

    def handler(connection) -> None:  # type: ignore[no-untyped-def]
        assert connection.request.path == f"/voila/query/{kernel_id}"
        time.sleep(0.3)  # the request arrives a little after the kernel started waiting
        connection.send(json.dumps(payload))

    def run() -> None:
        time.sleep(delay)  # the server starts after the kernel: the kernel must retry
        with ws_serve(handler, "127.0.0.1", port) as server:
            threading.Timer(3.0, server.shutdown).start()
            server.serve_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_preheated_kernel_waits_for_the_request_and_then_reads_its_query(kernel_env: pytest.MonkeyPatch) -> None:
    port = free_port()
    kernel_env.setenv("VOILA_PREHEAT", "True")
    kernel_env.setenv("VOILA_KERNEL_ID", "k-123")
    kernel_env.setenv("VOILA_APP_PORT", str(port))
    kernel_env.setenv("VOILA_SERVER_URL", "/")
    thread = _fake_voila_query_socket(port, "k-123", {"QUERY_STRING": "channels=jd&compare=none",
                                                      "SCRIPT_NAME": "/voila/render/x.ipynb"}, delay=0.5)
    t0 = time.monotonic()
    assert serve.url_parameters() == {"channels": "jd", "compare": "none"}
    assert time.monotonic() - t0 >= 0.7
    assert os.environ["QUERY_STRING"] == "channels=jd&compare=none"
    assert serve.url_parameters() == {"channels": "jd", "compare": "none"}  # asked again: no second wait
    thread.join(timeout=5)


def test_under_workbench_serve_a_preheated_kernel_serves_no_parameters_and_does_not_wait(
        kernel_env: pytest.MonkeyPatch) -> None:
    kernel_env.setenv("VOILA_PREHEAT", "True")
    kernel_env.setenv("VOILA_KERNEL_ID", "k-2")
    kernel_env.setenv("VOILA_APP_PORT", str(free_port()))  # nothing listens: waiting would fail
    kernel_env.setenv(serve.QUERY_KERNELS_ENV, "fresh")
    t0 = time.monotonic()
    assert serve.url_parameters() == {}
    assert time.monotonic() - t0 < 0.5


def test_requests_with_a_query_string_get_a_kernel_of_their_own(monkeypatch: pytest.MonkeyPatch) -> None:
    from voila.handler import VoilaHandler

    monkeypatch.setattr(VoilaHandler, "should_use_rendered_notebook", VoilaHandler.should_use_rendered_notebook)
    monkeypatch.setenv(serve.QUERY_KERNELS_ENV, "")  # restored (removed) after the test
    monkeypatch.delenv(serve.QUERY_KERNELS_ENV)
    assert serve.route_queries_to_fresh_kernels() is True
    assert serve.route_queries_to_fresh_kernels() is False
    assert os.environ[serve.QUERY_KERNELS_ENV] == "fresh"
    handler = object.__new__(VoilaHandler)
    rendered = {"template": "workbench", "theme": "light"}
    assert handler.should_use_rendered_notebook(rendered, 1, None, None, {}) is True
    assert handler.should_use_rendered_notebook(rendered, 1, None, None, {"language": [b"en"]}) is False
    assert handler.should_use_rendered_notebook(rendered, 0, None, None, {}) is False


def test_a_preheated_kernel_that_cannot_reach_its_server_says_so(kernel_env: pytest.MonkeyPatch) -> None:
    kernel_env.setenv("VOILA_PREHEAT", "True")
    kernel_env.setenv("VOILA_KERNEL_ID", "k-1")
    kernel_env.setenv("VOILA_APP_PORT", str(free_port()))
    with pytest.raises(WorkbenchError, match="could not receive its address"):
        serve.request_info(connect_timeout=1.0)


# ----- landing data, command lines, template ------------------------------------------------------
def test_dashboard_pages_lists_the_topic_notebooks_present(tmp_path: Path) -> None:
    for name in ("01_sales_traffic.ipynb", "99_custom_look.ipynb", "notes.ipynb", "02_products_pricing.txt"):
        (tmp_path / name).write_text("{}")
    pages = serve.dashboard_pages(tmp_path)
    assert [p["file"] for p in pages] == ["01_sales_traffic.ipynb", "99_custom_look.ipynb"]
    assert pages[0]["title_zh"] == "销售与流量" and pages[0]["title_en"] == "Sales and traffic"
    assert pages[0]["number"] == "01" and pages[0]["question_en"]
    assert pages[1]["title_en"] == "Custom look"


def test_page_config_hook_adds_the_topics_of_the_checkout() -> None:
    config = serve.page_config_hook({"baseUrl": "/"}, notebook_path="01_sales_traffic.ipynb", base_url="/")
    present = sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    assert [t["file"] for t in config["workbench"]["topics"]] == present
    assert config["workbench"]["current"] == "01_sales_traffic" and config["baseUrl"] == "/"


def test_voila_command_line() -> None:
    argv = serve.voila_argv(NOTEBOOKS, 9999, preheat=True)
    assert argv[0] == str(NOTEBOOKS)
    for expected in ("--Voila.ip=127.0.0.1", "--port=9999", "--show_tracebacks=False", "--template=workbench",
                     "--preheat_kernel=True", "--pool_size=1", "--no-browser",
                     f"--MappingKernelManager.cull_idle_timeout={serve.CULL_IDLE_TIMEOUT}",
                     f"--MappingKernelManager.cull_interval={serve.CULL_INTERVAL}"):
        assert expected in argv
    cold = serve.voila_argv(NOTEBOOKS, 9999, preheat=False)
    assert not any("preheat" in a or "pool_size" in a for a in cold)


def test_lab_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    argv = serve.lab_argv(NOTEBOOKS, 8899)
    assert "--allow-root" in argv and "--ServerApp.ip=127.0.0.1" in argv and "--ServerApp.port=8899" in argv
    assert f"--ServerApp.root_dir={NOTEBOOKS}" in argv
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert "--allow-root" not in serve.lab_argv(NOTEBOOKS, 8899)


def test_the_async_shell_send_fix_wakes_waiting_readers(monkeypatch: pytest.MonkeyPatch) -> None:
    from jupyter_client.channels import AsyncZMQSocketChannel

    sent: list[str] = []
    monkeypatch.setattr(AsyncZMQSocketChannel, "send", lambda self, msg: sent.append("send"))
    assert serve.fix_async_shell_send() is True
    assert serve.fix_async_shell_send() is False  # once only

    class Socket:
        closed = False

        def _schedule_remaining_events(self) -> None:
            sent.append("wake")

    channel = object.__new__(AsyncZMQSocketChannel)
    channel.socket = Socket()
    channel.send({"header": {}})
    assert sent == ["send", "wake"]


def test_preheat_slots_are_handed_out_one_at_a_time_in_name_order() -> None:
    import asyncio

    async def scenario() -> list[str]:
        queue = serve._PreheatQueue(1)
        order: list[str] = []

        async def preheat(name: str) -> None:
            await queue.acquire(name)
            order.append(name)
            await asyncio.sleep(0.01)
            assert order[-1] == name  # nobody else got a slot meanwhile
            queue.release()

        await asyncio.gather(*(preheat(n) for n in ("13_risk.ipynb", "01_sales_traffic.ipynb", "00_overview.ipynb")))
        return order

    assert asyncio.run(scenario()) == ["00_overview.ipynb", "01_sales_traffic.ipynb", "13_risk.ipynb"]


def test_serve_refuses_a_missing_data_folder(tmp_path: Path) -> None:
    args = argparse.Namespace(port=free_port(), data=str(tmp_path / "nowhere"), preheat=False)
    with pytest.raises(WorkbenchError, match="does not exist"):
        serve.main(args)


def test_the_template_loads_nothing_from_the_network() -> None:
    assert json.loads((TEMPLATE / "conf.json").read_text())["base_template"] == "lab"
    for name in ("index.html.j2", "tree.html", "page.html", "_nav.html.j2"):
        text = (TEMPLATE / name).read_text(encoding="utf-8")
        links = [line for line in text.splitlines() if "//" in line and "replace(" not in line
                 and ("src=" in line or "href=" in line or "url(" in line)]
        assert not links, f"{name} refers to the network: {links}"


# ----- the server, over HTTP ------------------------------------------------------------------------
def test_serve_answers_with_the_landing_page_and_refuses_a_bad_link(tmp_path: Path, sample_dir: Path) -> None:
    marker = tmp_path / "executed"
    with running_server(tmp_path / "server", preheat=True, data=sample_dir) as base:
        status, landing = http_get(base)
        assert status == 200
        for nb in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"):
            assert f"voila/render/{nb.name}" in landing
        assert "销售与流量" in landing and "Sales and traffic" in landing
        assert "cdn." not in landing

        bad = f"period=__import__('os').system('touch%20{marker}')&colour=red"
        status, page = http_get(f"{base}voila/render/01_sales_traffic.ipynb?{bad}")
        assert status == 400  # refused by the server before any kernel exists
        assert "wb-refused" in page and "unknown parameter" in page and "Traceback" not in page
        assert "链接参数无效" in page and "The link's parameters were refused" in page
        assert "fontawesome" not in page and "cdn.jsdelivr" not in page
        assert "wb-nav" in page
    assert not marker.exists()


def test_lab_serves_the_notebooks_on_localhost(tmp_path: Path) -> None:
    port = free_port()
    env = isolated_env(tmp_path) | {"BROWSER": "true"}  # `true URL`: no browser window
    log_path = tmp_path / "lab.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "workbench.cli", "lab", "--port", str(port)], cwd=ROOT,
                                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        token = ""
        while not token:
            assert proc.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, log_path.read_text()[-3000:]
            for line in log_path.read_text(errors="replace").splitlines():
                if f"http://127.0.0.1:{port}/lab?token=" in line:
                    token = line.split("token=")[1].split()[0]
            time.sleep(0.2)
        status, body = http_get(f"http://127.0.0.1:{port}/api/contents?token={token}", timeout=10)
        assert status == 200
        names = {item["name"] for item in json.loads(body)["content"]}
        assert "01_sales_traffic.ipynb" in names
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
