"""A page closed before it was all sent does not hold its kernel, nor count toward the kernel caps (issue 12).

A dashboard computed on a kernel of its own streams its HTML while the kernel executes the
notebook; a viewer who closes the page (or moves on) before the end leaves that kernel working
for nobody. Here: the budget's bookkeeping with a fake kernel manager and real sockets, the
guard's wait for room, and a live server whose client cap is 1.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import http.client
import socket
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import nbformat
from test_security import fetch, status, tiny_notebooks
from test_serve import running_server

from workbench.serve import auth
from workbench.serve.guard import Guard, HostPolicy, Limits
from workbench.serve.kernels import KernelBudget, Page, capped_manager_class, connection_gone


# ----- a fake kernel manager and connections ---------------------------------------------------------
class FakeKernel:
    def __init__(self, state: str = "busy", idle_for: float = 0.0) -> None:
        self.execution_state = state
        self.last_activity = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=idle_for)


class FakeManager:
    """What :class:`KernelBudget` reads of Voila's kernel manager (no pools)."""

    def __init__(self, kernels: dict[str, FakeKernel]) -> None:
        self.kernels = kernels
        self._kernel_connections: dict[str, int] = {k: 0 for k in kernels}
        self.shut: list[str] = []

    def list_kernel_ids(self) -> list[str]:
        return list(self.kernels)

    def get_kernel(self, kid: str) -> FakeKernel:
        return self.kernels[kid]

    async def shutdown_kernel(self, kid: str, now: bool = False) -> None:
        self.shut.append(kid)
        self.kernels.pop(kid, None)
        self._kernel_connections.pop(kid, None)


class FakeStream:
    """Tornado's IOStream as :func:`connection_gone` sees it: ``closed()`` and the socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.socket = sock

    def closed(self) -> bool:
        return self.socket.fileno() < 0


class FakeConnection:
    def __init__(self, sock: socket.socket) -> None:
        self.stream = FakeStream(sock)


def open_connection() -> tuple[FakeConnection, socket.socket]:
    """A connection whose viewer is there (and the viewer's end, to close or keep)."""
    server, viewer = socket.socketpair()
    server.setblocking(False)
    return FakeConnection(server), viewer


def budget_with(kernels: dict[str, FakeKernel], owners: dict[str, str], max_kernels: int = 4) -> KernelBudget:
    budget = KernelBudget(max_kernels, reclaim_after=600)
    budget.manager = FakeManager(kernels)
    budget.owners.update(owners)
    for kid in kernels:  # started for requests (as the capped kernel manager records them)
        budget.serves(kid)
    return budget


# ----- the budget ----------------------------------------------------------------------------------------
def test_connection_gone_reads_the_socket_without_taking_anything() -> None:
    server, viewer = socket.socketpair()
    with server, viewer:
        server.setblocking(False)
        connection = FakeConnection(server)
        assert not connection_gone(connection)  # nothing to read: the viewer is there
        viewer.sendall(b"x")
        assert not connection_gone(connection)  # data (a next request): still there
        assert server.recv(1) == b"x"  # and the peek left it to be read
        viewer.close()
        assert connection_gone(connection)  # end of stream
        server.close()
        assert connection_gone(connection)  # closed on this side (tornado knows)
    assert connection_gone(object())  # no stream at all


def test_the_kernel_of_a_page_closed_while_it_was_sent_is_shut_down_and_not_counted() -> None:
    async def scenario() -> tuple[list[str], bool, bool, set[str]]:
        server, viewer = socket.socketpair()
        server.setblocking(False)
        budget = budget_with({"k1": FakeKernel("busy")}, {"k1": "10.0.0.1"})
        page = Page(client="10.0.0.1", connection=FakeConnection(server))
        budget.attach(page, "k1")
        open_page_refused = not budget.client_has_room("10.0.0.1", 1)  # busy executing, its viewer there
        viewer.close()  # the viewer closes the page; tornado has not noticed yet
        room = budget.client_has_room("10.0.0.1", 1)  # the socket says so
        await asyncio.sleep(0)  # the shutdown runs
        await asyncio.sleep(0)
        server.close()
        return budget.manager.shut, open_page_refused, room, budget.abandoned

    shut, open_page_refused, room, abandoned = asyncio.run(scenario())
    assert open_page_refused  # a page still open keeps its kernel: the cap holds
    assert room and shut == ["k1"] and abandoned == {"k1"}


def test_a_page_abandoned_at_once_frees_its_kernel_from_both_caps_before_the_shutdown_ends() -> None:
    async def scenario() -> tuple[int, bool, bool, list[str], list[str]]:
        budget = budget_with({"k1": FakeKernel("busy"), "k2": FakeKernel("busy")},
                             {"k1": "10.0.0.1", "k2": "10.0.0.2"}, max_kernels=2)
        connection, viewer = open_connection()
        page = Page(client="10.0.0.1", connection=connection)
        budget.attach(page, "k1")
        assert not budget.has_room() and not budget.client_has_room("10.0.0.1", 1)
        budget.abandon(page)  # tornado's on_connection_close
        counted = len(budget.request_kernels())  # before the shutdown has run
        room, client_room = budget.has_room(), budget.client_has_room("10.0.0.1", 1)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        viewer.close()
        connection.stream.socket.close()
        return counted, room, client_room, budget.manager.shut, list(budget.streaming)

    counted, room, client_room, shut, streaming = asyncio.run(scenario())
    assert counted == 1 and room and client_room  # k2 alone counts, and k1 was not needed to make room
    assert shut == ["k1"] and streaming == []


def test_a_page_closed_while_its_kernel_starts_gets_it_shut_down_once_it_is_known() -> None:
    async def scenario() -> list[str]:
        budget = budget_with({}, {})
        page = Page(client="10.0.0.1")
        budget.abandon(page)  # no kernel yet
        budget.manager.kernels["k1"] = FakeKernel("starting")
        budget.attach(page, "k1")  # the kernel manager has started it
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        return budget.manager.shut

    assert asyncio.run(scenario()) == ["k1"]


def test_a_page_all_sent_is_not_abandoned_when_its_connection_closes_later() -> None:
    async def scenario() -> tuple[list[str], bool]:
        budget = budget_with({"k1": FakeKernel("idle")}, {"k1": "10.0.0.1"})
        connection, viewer = open_connection()
        page = Page(client="10.0.0.1", connection=connection)
        budget.attach(page, "k1")
        budget.finished(page)
        viewer.close()  # e.g. the browser closes the connection after the page
        budget.abandon(page)
        room = budget.client_has_room("10.0.0.1", 1)
        await asyncio.sleep(0)
        connection.stream.socket.close()
        return budget.manager.shut, room

    shut, room = asyncio.run(scenario())
    assert shut == []
    assert room is False  # its kernel still counts (nobody connected yet, idle less than reclaim_after)


# ----- the guard waits for room ---------------------------------------------------------------------------
class Budget:
    """A kernel budget whose client has room from the ``room_after``-th look on."""

    def __init__(self, room_after: int) -> None:
        self.looks = 0
        self.room_after = room_after

    def client_has_room(self, client: str, limit: int) -> bool:
        self.looks += 1
        return self.looks >= self.room_after

    def has_room(self) -> bool:
        return True


def _dashboard_request(guard: Guard) -> tuple[Any, Any]:
    import tornado.web
    from tornado.httputil import HTTPHeaders, HTTPServerRequest, RequestStartLine

    request = HTTPServerRequest(headers=HTTPHeaders({"Host": "127.0.0.1:8866"}),
                                start_line=RequestStartLine("GET", "/voila/render/01_tiny.ipynb?period=last-7d",
                                                            "HTTP/1.1"))
    return guard.route(tornado.web.Application(), request), request


def test_without_room_a_page_waits_for_it_and_then_goes_to_voila() -> None:
    guard = Guard(hosts=HostPolicy.for_address("127.0.0.1"), credentials=auth.Credentials(required=False),
                  kernels=Budget(room_after=3), limits=Limits(room_wait=5))
    delegate, request = _dashboard_request(guard)
    assert delegate is None and request.workbench_wait is not None  # on to Voila, whose handler waits first
    assert asyncio.run(request.workbench_wait()) is None  # room came on the third look
    assert guard.kernels.looks == 3


def test_without_room_for_room_wait_seconds_the_page_gets_the_bilingual_429() -> None:
    guard = Guard(hosts=HostPolicy.for_address("127.0.0.1"), credentials=auth.Credentials(required=False),
                  kernels=Budget(room_after=10**9), limits=Limits(room_wait=0.5))
    _, request = _dashboard_request(guard)
    code, body, headers = asyncio.run(request.workbench_wait())
    assert code == 429 and headers == {"Retry-After": "30"}
    assert "实时页面过多" in body and "Too many live pages" in body
    guard = Guard(hosts=HostPolicy.for_address("127.0.0.1"), credentials=auth.Credentials(required=False),
                  kernels=Budget(room_after=10**9), limits=Limits(room_wait=0))
    delegate, request = _dashboard_request(guard)  # no waiting: the guard answers itself
    assert delegate.handler_kwargs["status"] == 429 and not hasattr(request, "workbench_wait")


# ----- a live server -----------------------------------------------------------------------------------------
def slow_notebooks(folder: Path, seconds: float) -> Path:
    """``01_tiny.ipynb`` (prints its parameters at once) and ``02_slow.ipynb`` (the same after ``seconds``)."""
    tiny_notebooks(folder)
    nb = nbformat.read(str(folder / "01_tiny.ipynb"), as_version=4)
    nb.cells[0].source = nb.cells[0].source.replace("time.sleep(0.0)", f"time.sleep({seconds})")
    assert f"time.sleep({seconds})" in nb.cells[0].source
    nbformat.write(nb, str(folder / "02_slow.ipynb"))
    return folder


def start_page(base: str, path: str, client: str, until: bytes = b"") -> http.client.HTTPConnection:
    """A GET of ``path`` whose answer has begun (status and headers read, and the body up to ``until``);
    the connection stays open."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    conn.request("GET", path, headers={"X-Real-Ip": client})
    answer = conn.getresponse()
    assert answer.status == 200
    body = b""
    while until not in body:
        chunk = answer.read1(65536)
        assert chunk, body[-500:]  # the page ended before
        body += chunk
    return conn


def wait_for(what: Any, seconds: float = 60.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        got = what()
        if got or time.monotonic() > deadline:
            return got
        time.sleep(0.2)


def test_a_page_closed_before_it_was_all_sent_leaves_room_for_the_client_s_next_page(tmp_path: Path) -> None:
    """One kernel per client, no waiting for room: only the closed page's socket tells the server."""
    with running_server(tmp_path / "server", preheat=False, ready_timeout=180,
                        env={"WORKBENCH_ROOM_WAIT": "0"},
                        extra=("--max-kernels", "2", "--kernels-per-client", "1", "--reclaim-after", "600",
                               "--behind-proxy", "--notebooks", str(slow_notebooks(tmp_path / "nb", 120)))) as base:
        log = tmp_path / "server" / "serve.log"
        slow = start_page(base, "/voila/render/02_slow.ipynb?period=last-7d", "10.0.0.1")  # a fresh kernel
        assert wait_for(lambda: status(base)["kernels"]["request"] == 1)
        code, _, page = fetch(f"{base}voila/render/01_tiny.ipynb?period=last-8d", headers={"X-Real-Ip": "10.0.0.1"})
        assert code == 429 and "实时页面过多" in page and "Too many live pages" in page  # its page is open
        slow.close()  # the viewer leaves before the notebook has run
        code, _, page = fetch(f"{base}voila/render/01_tiny.ipynb?period=last-9d", headers={"X-Real-Ip": "10.0.0.1"})
        assert code == 200 and "('period', 'last-9d')" in html.unescape(page)
        assert wait_for(lambda: status(base)["kernels"]["total"] == 1, 30)  # the abandoned kernel is gone
        assert status(base)["kernels"]["request"] == 1  # and the new page's one stays
        text = log.read_text()
        assert "page closed before it was all sent: shutting down kernel" in text
        for noise in ("Error at server while executing cell", "Task exception was never retrieved", "Traceback"):
            assert noise not in text, text[-3000:]  # the kernel shut down under its page says nothing


def test_a_page_closed_while_its_kernel_runs_is_seen_by_tornado_and_its_kernel_shut_down(tmp_path: Path) -> None:
    """Nothing asked for room: tornado's close callback alone shuts the kernel down."""
    with running_server(tmp_path / "server", preheat=False, ready_timeout=180,
                        extra=("--max-kernels", "2", "--reclaim-after", "600",
                               "--notebooks", str(slow_notebooks(tmp_path / "nb", 120)))) as base:
        # the page has its kernel id: the kernel started and the notebook's cell is running
        slow = start_page(base, "/voila/render/02_slow.ipynb?period=last-7d", "10.0.0.1", until=b"kernelId")
        assert status(base)["kernels"]["request"] == 1
        slow.close()
        assert wait_for(lambda: status(base)["kernels"]["total"] == 0, 30)
        time.sleep(3)  # the renderer notices the dead kernel within a second and ends the page
        text = (tmp_path / "server" / "serve.log").read_text()
        assert "page closed before it was all sent: shutting down kernel" in text
        for noise in ("Error at server while executing cell", "Task exception was never retrieved", "Traceback"):
            assert noise not in text, text[-3000:]


def test_a_client_at_its_cap_waits_for_the_kernel_that_becomes_free_instead_of_429(tmp_path: Path) -> None:
    """The kernel of a page fetched and left becomes reclaimable after 1 s; the next page waits that long."""
    with running_server(tmp_path / "server", preheat=False, ready_timeout=180,
                        env={"WORKBENCH_ROOM_WAIT": "20"},
                        extra=("--max-kernels", "2", "--kernels-per-client", "1", "--reclaim-after", "1",
                               "--notebooks", str(tiny_notebooks(tmp_path / "nb")))) as base:
        code, _, _ = fetch(f"{base}voila/render/01_tiny.ipynb?period=last-7d")
        assert code == 200
        code, _, page = fetch(f"{base}voila/render/01_tiny.ipynb?period=last-8d")  # at once: its one kernel counts
        assert code == 200 and "('period', 'last-8d')" in html.unescape(page)
        assert status(base)["kernels"]["request"] == 1


def test_a_preheated_page_closed_before_it_was_all_sent_gives_up_its_kernel_too(tmp_path: Path) -> None:
    """A preheated kernel handed to a request is that page's kernel: closed early, it is shut down."""
    import re

    folder = slow_notebooks(tmp_path / "nb", 60)
    (folder / "01_tiny.ipynb").unlink()  # only the slow one, preheated
    with running_server(tmp_path / "server", preheat=True, ready_timeout=180,
                        extra=("--max-kernels", "2", "--reclaim-after", "600", "--notebooks", str(folder))) as base:
        assert wait_for(lambda: status(base)["kernels"]["pooled"] == 1, 120)  # started, rendering its cell
        slow = start_page(base, "/voila/render/02_slow.ipynb", "10.0.0.1", until=b"<html")
        log = tmp_path / "server" / "serve.log"
        handed = wait_for(lambda: re.search(r"Using pre-heated kernel: ([0-9a-f-]+)", log.read_text()), 30)
        assert handed, log.read_text()[-2000:]
        assert status(base)["kernels"]["request"] == 1  # out of its pool: a request kernel
        slow.close()
        # gone, not only uncounted (its pool refills 20 s after the hand-over: REFILL_DELAY)
        assert wait_for(lambda: status(base)["kernels"]["total"] == 0, 15), status(base)
        text = log.read_text()
        assert f"page closed before it was all sent: shutting down kernel {handed.group(1)}" in text
        for noise in ("Error at server while executing cell", "Task exception was never retrieved", "Traceback"):
            assert noise not in text, text[-3000:]


def test_a_busy_kernel_whose_page_connected_and_left_is_reclaimed_for_the_client_s_next_page() -> None:
    """The load test: a page shown in full (its websocket connected) and then closed while its kernel was
    still computing kept the viewer at the cap, and the next page got 429. Such a kernel goes at once;
    a busy kernel no page has connected to yet (its page may still be loading) stays."""
    async def scenario() -> tuple[bool, list[str], bool, bool]:
        budget = budget_with({"left": FakeKernel("busy"), "loading": FakeKernel("busy", idle_for=900)},
                             {"left": "10.0.0.1", "loading": "10.0.0.2"})
        budget.manager._kernel_connections["left"] = 1
        budget.observe()  # the page is connected
        held = not budget.client_has_room("10.0.0.1", 1)
        budget.manager._kernel_connections["left"] = 0  # the viewer closes it; the kernel still computes
        room = budget.client_has_room("10.0.0.1", 1)
        other_kept = not budget.client_has_room("10.0.0.2", 1)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        return held, budget.manager.shut, room, other_kept

    held, shut, room, other_kept = asyncio.run(scenario())
    assert held  # while the page is open its kernel counts
    assert room and shut == ["left"]
    assert other_kept  # never connected and busy: not reclaimed, whatever its idle time


def test_a_preheated_pool_s_kernel_still_starting_takes_no_viewer_s_room() -> None:
    """The load test refused pages while pools refilled: a pool's kernel is listed by the manager from
    the moment its process starts, seconds before its pool entry is done, and was counted as a request
    kernel meanwhile. Only kernels started for a request, or handed to one, count."""
    budget = budget_with({"page": FakeKernel("busy")}, {}, max_kernels=2)
    budget.manager.kernels["refilling"] = FakeKernel("starting")  # listed, not (yet) in a finished pool entry
    budget.manager._kernel_connections["refilling"] = 0
    assert budget.request_kernels() == ["page"]
    assert budget.has_room()
    budget.serves("refilling")  # handed to a request later: from then on it counts
    assert sorted(budget.request_kernels()) == ["page", "refilling"] and not budget.has_room()


def test_a_kernel_being_shut_down_by_anyone_no_longer_counts() -> None:
    """Voila's page shuts its kernel down as it unloads (``DELETE /api/kernels/…``); a busy kernel stays
    listed until it answers or is killed. Every shutdown through the capped manager takes it out of
    the count at once, and the bookkeeping ends with the shutdown."""
    seen: list[list[str]] = []

    class Base:
        def __init__(self, **kwargs: Any) -> None:
            self.kernels = {"k1": FakeKernel("busy"), "k2": FakeKernel("busy")}
            self._kernel_connections = {"k1": 0, "k2": 0}

        def list_kernel_ids(self) -> list[str]:
            return list(self.kernels)

        def get_kernel(self, kid: str) -> FakeKernel:
            return self.kernels[kid]

        async def shutdown_kernel(self, kid: str, now: bool = False, restart: bool = False) -> None:
            seen.append(budget.request_kernels())  # what the caps see while the kernel shuts down
            await asyncio.sleep(0.01)
            del self.kernels[kid]

    async def scenario() -> tuple[list[str], set[str]]:
        manager = capped_manager_class(budget, Base)()
        assert budget.manager is manager
        manager._workbench_watch.stop()
        budget.serves("k1")
        budget.serves("k2")
        await manager.shutdown_kernel("k1")
        return budget.request_kernels(), set(budget._closing)

    budget = KernelBudget(2)
    after, closing = asyncio.run(scenario())
    assert seen == [["k2"]]  # while k1 shut down it was not counted
    assert after == ["k2"] and closing == set()


def test_a_kernel_shut_down_while_it_starts_is_killed_without_an_interrupt_first(tmp_path: Path) -> None:
    """CI's log showed half a ``KeyboardInterrupt`` traceback from ``ipykernel_launcher`` when a page was
    closed while its kernel was still importing: jupyter_client's ``shutdown_kernel(now=True)`` sends
    SIGINT before SIGKILL. The budget kills first; the only signal the process gets is SIGKILL."""
    import json
    import signal
    import sys

    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.multikernelmanager import AsyncMultiKernelManager
    from jupyter_client.provisioning.local_provisioner import LocalProvisioner

    spec = tmp_path / "kernels" / "starting"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({  # a kernel that never gets past its imports
        "argv": [sys.executable, "-c", "import time\nwhile True: time.sleep(0.01)", "{connection_file}"],
        "display_name": "starting", "language": "python"}))
    sent: list[tuple[int, int]] = []  # (pid, signal) in the order sent
    original = LocalProvisioner.send_signal

    async def spy(self: LocalProvisioner, signum: int) -> None:
        if self.process is not None and self.process.poll() is None:  # what reaches a live process
            sent.append((self.process.pid, signum))
        await original(self, signum)

    async def scenario() -> list[str]:
        manager = AsyncMultiKernelManager(kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")]))
        manager.connection_dir = str(tmp_path)
        kid = await manager.start_kernel(kernel_name="starting")
        budget = KernelBudget(2)
        budget.manager = manager
        budget.serves(kid)
        budget._shutdown_soon(kid)
        for _ in range(100):
            await asyncio.sleep(0.05)
            if not budget._closing:
                break
        return manager.list_kernel_ids()

    LocalProvisioner.send_signal = spy  # type: ignore[method-assign]
    try:
        left = asyncio.run(scenario())
    finally:
        LocalProvisioner.send_signal = original  # type: ignore[method-assign]
    assert left == []  # shut down and forgotten
    assert sent and sent[0][1] == signal.SIGKILL, sent  # no SIGINT while it lived
    assert all(signum == signal.SIGKILL for _, signum in sent), sent


def test_a_page_connected_between_two_samples_is_known_to_have_been_connected() -> None:
    """The load test's refusals: pages shown and closed between two samples of the connection counts
    were never seen connected, and their kernels held the viewer's room as pages still loading. The
    capped manager notes every connection as it happens."""

    class Base:
        def __init__(self, **kwargs: Any) -> None:
            self.kernels = {"k1": FakeKernel("idle")}
            self._kernel_connections = {"k1": 0}

        def list_kernel_ids(self) -> list[str]:
            return list(self.kernels)

        def get_kernel(self, kid: str) -> FakeKernel:
            return self.kernels[kid]

        def notify_connect(self, kid: str) -> None:
            self._kernel_connections[kid] += 1

        def notify_disconnect(self, kid: str) -> None:
            self._kernel_connections[kid] -= 1

        async def shutdown_kernel(self, kid: str, now: bool = False, restart: bool = False) -> None:
            del self.kernels[kid]

    async def scenario() -> tuple[bool, bool, list[str]]:
        manager = capped_manager_class(budget, Base)()
        manager._workbench_watch.stop()  # no sampling at all
        budget.serves("k1")
        budget.owners["k1"] = "10.0.0.1"
        before = budget.client_has_room("10.0.0.1", 1)  # never connected, idle for less than reclaim_after
        manager.notify_connect("k1")
        manager.notify_disconnect("k1")  # the page came and went
        room = budget.client_has_room("10.0.0.1", 1)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        return before, room, list(manager.kernels)

    budget = KernelBudget(2, reclaim_after=600)
    before, room, left = asyncio.run(scenario())
    assert not before  # a page may still be loading: its kernel is kept
    assert room and left == []  # its page has left: reclaimed for the viewer's next page


def test_voila_s_own_shutdown_on_unload_is_accepted_from_the_page_s_origin(tmp_path: Path) -> None:
    """Voila's page shuts its kernel down as it unloads with a beacon POST, which has no XSRF header;
    the server answered 403 and closed pages kept their kernels. With the page's own Origin it is
    accepted; another Origin is refused by the guard, and no Origin still needs the XSRF token."""
    import re

    with running_server(tmp_path / "server", preheat=False, ready_timeout=180,
                        extra=("--max-kernels", "2", "--notebooks", str(tiny_notebooks(tmp_path / "nb")))) as base:
        code, _, page = fetch(f"{base}voila/render/01_tiny.ipynb?period=last-7d")
        assert code == 200
        kid = re.search(r'kernelId[^0-9a-f]+([0-9a-f-]{36})', page)
        assert kid, page[:2000]
        url = f"{base}voila/api/shutdown/{kid.group(1)}"
        origin = base.rstrip("/")
        assert fetch(url, "POST", body="")[0] == 403  # no Origin: the XSRF check stands
        assert fetch(url, "POST", body="", headers={"Origin": "http://evil.example"})[0] == 403
        assert status(base)["kernels"]["request"] == 1
        assert fetch(url, "POST", body="", headers={"Origin": origin})[0] == 204
        assert wait_for(lambda: status(base)["kernels"]["total"] == 0, 30), status(base)
