"""How many kernels ``workbench serve`` runs: a cap on request kernels, reclaiming idle ones first.

A dashboard opened live needs a kernel of its own (its widgets live there). Without a cap, every
distinct query string started one (230–350 MB each) until the machine ran out of memory.
:class:`KernelBudget` counts the *request kernels* (those started for a request or handed to one
from a preheated pool; the pools' own kernels, starting or waiting, are bounded by the preheat setting,
and a kernel being shut down no longer counts) and allows at most ``max_kernels``. When the cap
is reached, kernels that no page is connected to, that are idle and have had no activity for
``reclaim_after`` seconds (a script that fetched a page and left), or whose page was connected and
has left (at once), are shut down to make room; when none is, the guard answers 429 (:mod:`workbench.serve.guard`) and
:func:`cap_kernels` refuses the start in the kernel manager as well.

A page closed before its HTML was all sent (its kernel still executing the notebook) is
*abandoned*: its request kernel is shut down at once and no longer counts toward any cap
(:func:`watch_pages`). Tornado says so when it sees the connection close; a decision on room
also looks at the sockets of the pages still streaming (:func:`connection_gone`), so a close not yet
processed by the event loop counts as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import socket
from dataclasses import dataclass
from typing import Any

from workbench.errors import WorkbenchError

#: The request header the guard sets to the client's address, and the kernel variable Voila makes of it.
CLIENT_HEADER = "X-Workbench-Client"
CLIENT_ENV = "HTTP_X_WORKBENCH_CLIENT"

#: Seconds a kernel nobody is connected to must have been idle before it may be reclaimed.
RECLAIM_AFTER = 30.0


#: Seconds the handler of an abandoned page may take to end on its own before it is cancelled.
ABANDONED_GRACE = 60.0


def _cancel_unless_done(task: Any) -> None:
    if not task.done():
        task.cancel()


class KernelCapReached(WorkbenchError):
    """Raised when a kernel would be started beyond the cap and none can be reclaimed."""


@dataclass(eq=False)
class Page:
    """One dashboard request being answered: its client, its HTTP connection and its kernel (once known)."""

    client: str | None = None
    connection: Any = None  # tornado's HTTP1Connection of the request
    kernel_id: str | None = None
    abandoned: bool = False  # the viewer closed the connection before the page was all sent
    finished: bool = False  # the page was all sent (or refused)
    task: Any = None  # the task running Voila's handler for it


#: The page the current request handler answers (set by :func:`watch_pages` around Voila's handler).
_PAGE: contextvars.ContextVar[Page | None] = contextvars.ContextVar("workbench_page", default=None)
#: The kernel whose notebook cell is being executed in this task (for :class:`_QuietAbandoned`).
_RENDERING: contextvars.ContextVar[str | None] = contextvars.ContextVar("workbench_rendering", default=None)


def connection_gone(connection: Any) -> bool:
    """Whether the viewer at the other end of ``connection`` (tornado's HTTP1Connection) has closed it.

    True when tornado knows it already, or when the socket reads as closed (end of stream or reset)
    without taking anything from it (``MSG_PEEK``); False while the viewer is there (nothing to read)
    and when it cannot be told (a TLS socket).
    """
    stream = getattr(connection, "stream", None)
    if stream is None or stream.closed():
        return True
    sock = getattr(stream, "socket", None)
    if sock is None:
        return True
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except (BlockingIOError, InterruptedError):
        return False
    except ValueError:  # ssl sockets take no flags
        return False
    except OSError:  # reset by the peer, or closed under us
        return True


class KernelBudget:
    """The cap on request kernels of one kernel manager (bound later, when Voila has made it)."""

    def __init__(self, max_kernels: int, reclaim_after: float = RECLAIM_AFTER) -> None:
        self.max_kernels = max(1, int(max_kernels))
        self.reclaim_after = reclaim_after
        self.manager: Any = None
        self._lock: asyncio.Lock | None = None
        self._closing: set[str] = set()
        self.owners: dict[str, str] = {}  # kernel id -> the client whose request started it
        self._connected: set[str] = set()  # kernels a page has been connected to
        self.streaming: dict[str, Page] = {}  # kernel id -> its page, while the page's HTML is being sent
        self.abandoned: set[str] = set()  # kernels shut down because their page was closed before it was all sent
        #: kernels started for a request or handed to one from a preheated pool: the ones the caps count
        #: (a pool's kernel still starting is listed by the manager before its pool entry is done; it
        #: is not a request kernel and must not take a viewer's room)
        self.requested: set[str] = set()
        self.served = 0  #: request kernels there have been since the server started

    # ----- pages being sent ----------------------------------------------------------------------------
    def attach(self, page: Page, kid: str) -> None:
        """``kid`` serves ``page`` (a kernel started for it, or a preheated one handed to it)."""
        page.kernel_id = kid
        self.serves(kid)
        if page.abandoned:  # the viewer left while the kernel was starting
            self._abandon_kernel(kid)
        elif not page.finished:
            self.streaming[kid] = page

    def serves(self, kid: str) -> None:
        """``kid`` is a request kernel from now on (started for a request, or a preheated one handed over)."""
        if len(self.requested) > 1000 and self.manager is not None:
            self.requested &= set(self.manager.list_kernel_ids())
        if kid not in self.requested:
            self.served += 1
        self.requested.add(kid)

    def finished(self, page: Page) -> None:
        """``page`` was all sent (or its handler ended): its kernel is an ordinary request kernel again."""
        page.finished = True
        if page.kernel_id is not None and self.streaming.get(page.kernel_id) is page:
            del self.streaming[page.kernel_id]

    def abandon(self, page: Page) -> None:
        """The viewer closed ``page`` before it was all sent: shut its kernel down (now, or once it is known)."""
        if page.abandoned or page.finished:
            return
        page.abandoned = True
        if page.task is not None:  # normally it ends once the kernel is gone; if Voila hangs, stop it
            asyncio.get_running_loop().call_later(ABANDONED_GRACE, _cancel_unless_done, page.task)
        if page.kernel_id is not None:
            if self.streaming.get(page.kernel_id) is page:
                del self.streaming[page.kernel_id]
            self._abandon_kernel(page.kernel_id)

    def _abandon_kernel(self, kid: str) -> None:
        log = getattr(self.manager, "log", None) or logging.getLogger("workbench.serve")  # the server's log
        log.info("page closed before it was all sent: shutting down kernel %s", kid)
        if len(self.abandoned) > 1000 and self.manager is not None:
            self.abandoned &= set(self.manager.list_kernel_ids())
        self.abandoned.add(kid)
        self._shutdown_soon(kid)

    def sweep(self) -> None:
        """Abandon the pages still being sent whose viewer has closed the connection (seen on the socket)."""
        for page in list(self.streaming.values()):
            if connection_gone(page.connection):
                self.abandon(page)

    # ----- what runs ---------------------------------------------------------------------------------
    def _pooled(self) -> set[str]:
        ids: set[str] = set()
        for pool in getattr(self.manager, "_pools", {}).values():
            for task in pool:
                if task.done() and not task.cancelled() and task.exception() is None:  # a failed start holds none
                    ids.add(task.result()["kernel_id"])
        return ids

    def ready(self) -> int:
        """Preheated kernels whose notebook has finished rendering (a viewer gets the page at once)."""
        n = 0
        for pool in getattr(self.manager, "_pools", {}).values():
            for task in pool:
                if task.done() and not task.cancelled() and task.exception() is None:
                    render = task.result().get("task")
                    n += bool(render is not None and render.done())
        return n

    def request_kernels(self) -> list[str]:
        """Ids of running request kernels (:attr:`requested`), less those being shut down.

        Counted by what they serve, not as "every kernel not in a pool": a preheated pool's kernel is
        listed by the manager from the moment its process starts, seconds before its pool entry is
        done (longer under load), and counting it then refused viewers while pools refilled.
        """
        if self.manager is None:
            return []
        return [k for k in self.manager.list_kernel_ids() if k in self.requested and k not in self._closing]

    def observe(self) -> None:
        """Note which kernels have a page connected now (called every second by the kernel manager)."""
        if self.manager is None:
            return
        connections = getattr(self.manager, "_kernel_connections", {})
        running = set(self.manager.list_kernel_ids())
        self._connected = {k for k in self._connected if k in running} | \
            {k for k, n in connections.items() if n > 0 and k in running}

    def connected(self, kid: str) -> None:
        """A page has connected to ``kid`` (from the kernel manager's ``notify_connect``)."""
        self._connected.add(kid)

    def reclaimable(self, now: float | None = None) -> list[str]:
        """Request kernels no page is connected to that may go; longest idle first.

        A kernel whose page has left (it was connected, and is no more) may go at once, even while it
        still computes (a redraw, or cells the page asked for before it left: nobody will see them;
        the load test found such kernels holding a viewer's cap after the viewer had closed the page).
        One that no page has connected to yet only once it is idle and has been for ``reclaim_after``
        seconds, as its page may still be loading (or it served a script that fetched the page and left).
        """
        if self.manager is None:
            return []
        import datetime as dt

        self.observe()
        connections = getattr(self.manager, "_kernel_connections", {})
        now_utc = dt.datetime.now(dt.UTC)
        out = []
        for kid in self.request_kernels():
            try:
                kernel = self.manager.get_kernel(kid)
            except KeyError:
                continue
            if connections.get(kid, 0) > 0:
                continue
            last = getattr(kernel, "last_activity", None)
            idle = (now_utc - last).total_seconds() if last is not None else self.reclaim_after
            if kid in self._connected:  # its page has left
                out.append((idle, kid))
            elif getattr(kernel, "execution_state", "idle") != "busy" and idle >= self.reclaim_after:
                out.append((idle, kid))
        return [kid for _, kid in sorted(out, reverse=True)]

    def counts(self) -> dict[str, int]:
        """Running kernels: ``total``, ``request`` (capped), ``pooled``, ``ready`` (pooled and rendered)
        and ``reclaimable``; and ``served``, the request kernels there have been since the start."""
        if self.manager is None:
            return {"total": 0, "request": 0, "pooled": 0, "ready": 0, "reclaimable": 0, "served": self.served}
        self.sweep()
        return {"total": len(self.manager.list_kernel_ids()), "request": len(self.request_kernels()),
                "pooled": len(self._pooled()), "ready": self.ready(), "reclaimable": len(self.reclaimable()),
                "served": self.served}

    def describe(self) -> str:
        """One line on every running kernel, for the log when a page finds no room: its role (request,
        pooled, other), state, connections, owner, whether a page has been connected, closing, streaming."""
        if self.manager is None:
            return "no kernel manager"
        pooled = self._pooled()
        connections = getattr(self.manager, "_kernel_connections", {})
        parts = []
        for kid in self.manager.list_kernel_ids():
            try:
                state = getattr(self.manager.get_kernel(kid), "execution_state", "?")
            except KeyError:
                state = "gone"
            role = "request" if kid in self.requested else "pooled" if kid in pooled else "other"
            flags = [f for f, on in (("was-connected", kid in self._connected), ("closing", kid in self._closing),
                                     ("streaming", kid in self.streaming)) if on]
            parts.append(f"{kid[:8]} {role} {state} ws={connections.get(kid, 0)} owner={self.owners.get(kid, '-')}"
                         + (f" [{','.join(flags)}]" if flags else ""))
        return f"{self.counts()}; " + "; ".join(parts)

    # ----- making room ---------------------------------------------------------------------------------
    def has_room(self) -> bool:
        """Whether one more request kernel fits, reclaiming (in the background) what is needed."""
        if self.manager is None:
            return True
        self.sweep()
        free = self.max_kernels - len(self.request_kernels())
        if free > 0:
            return True
        spare = self.reclaimable()
        if len(spare) < 1 - free:
            return False
        for kid in spare[:1 - free]:
            self._shutdown_soon(kid)
        return True

    def client_has_room(self, client: str, limit: int) -> bool:
        """Whether ``client`` may start one more kernel (at most ``limit``), reclaiming one of its idle ones."""
        if self.manager is None:
            return True
        self.sweep()
        running = set(self.request_kernels())
        for kid in [k for k in self.owners if k not in running and k not in self._closing]:
            del self.owners[kid]
        mine = [k for k in running if self.owners.get(k) == client]
        if len(mine) < limit:
            return True
        spare = [k for k in self.reclaimable() if self.owners.get(k) == client]
        if len(mine) - len(spare) >= limit:
            return False
        for kid in spare[:len(mine) - limit + 1]:
            self._shutdown_soon(kid)
        return True

    def _shutdown_soon(self, kid: str) -> None:
        self._closing.add(kid)

        async def stop() -> None:
            try:
                await self._kill(kid)
            finally:
                self._closing.discard(kid)

        asyncio.ensure_future(stop())

    async def _kill(self, kid: str) -> None:
        """Stop kernel ``kid`` at once, silently.

        ``shutdown_kernel(now=True)`` of jupyter_client 8 sends SIGINT before it kills: a kernel still
        importing its modules (a page closed seconds after it was asked for) then prints a half
        ``KeyboardInterrupt`` traceback into the server's log before SIGKILL lands. Nobody needs that
        kernel's last words, so its process is killed first and the manager only tidies up after it.
        """
        with contextlib.suppress(Exception):  # already gone
            km = self.manager.get_kernel(kid)
            if getattr(km, "provisioner", None) is not None:
                await km.provisioner.kill()
                await asyncio.wait_for(km.provisioner.wait(), 10)  # reaped: the manager sends it nothing more
        with contextlib.suppress(Exception):  # already gone
            await self.manager.shutdown_kernel(kid, now=True)

    async def admit(self) -> None:
        """Before a request kernel starts: reclaim to make room, or raise :class:`KernelCapReached`."""
        self.sweep()
        if len(self.request_kernels()) < self.max_kernels:
            return
        for kid in self.reclaimable():
            self._closing.add(kid)
            try:
                await self._kill(kid)
            finally:
                self._closing.discard(kid)
            if len(self.request_kernels()) < self.max_kernels:
                return
        raise KernelCapReached(f"all {self.max_kernels} dashboard kernels are in use")

    def lock(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock


def capped_manager_class(budget: KernelBudget, manager_class: type) -> type:
    """``manager_class`` (the kernel manager class Voila made) respecting ``budget``, which it binds to itself.

    ``start_kernel`` of a request waits for :meth:`KernelBudget.admit` and raises a 429 error when
    the cap is reached; the kernels it starts, and preheated ones it hands to a request
    (``get_rendered_notebook``), are request kernels (:meth:`KernelBudget.serves`). The preheated
    pools start theirs through the base class and are not counted. ``shutdown_kernel``, whoever
    asks for it, takes the kernel out of the count until it is gone.
    """
    import tornado.ioloop
    import tornado.web

    class CappedKernelManager(manager_class):  # type: ignore[misc, valid-type]
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            budget.manager = self
            self._workbench_watch = tornado.ioloop.PeriodicCallback(budget.observe, 1000)
            self._workbench_watch.start()

        async def start_kernel(self, *args: Any, **kwargs: Any) -> str:
            async with budget.lock():
                try:
                    await budget.admit()
                except KernelCapReached:
                    from workbench.text.catalogue import message

                    text = " · ".join(message("serve.busy.body", lang, kernels=budget.max_kernels)
                                      for lang in ("zh", "en"))
                    raise tornado.web.HTTPError(429, reason="Too Many Requests", log_message=text) from None
                kid = await super().start_kernel(*args, **kwargs)
                budget.serves(kid)
            client = (kwargs.get("env") or {}).get(CLIENT_ENV)
            if client:
                budget.owners[kid] = client
            page = _PAGE.get()
            if page is not None:
                budget.attach(page, kid)
            return kid

        def notify_connect(self, kernel_id: str) -> None:
            """A page's websocket connected to ``kernel_id``: noted at once, not left to the sampling.

            :meth:`KernelBudget.observe` samples the connection counts; a page whose websocket came and
            went between two samples (the load test's pages, shown and closed while the server was
            busy) was never seen connected, so its kernel was held as "page still loading" for
            ``reclaim_after`` seconds and the viewer's next pages were refused.
            """
            super().notify_connect(kernel_id)
            budget.connected(kernel_id)

        async def shutdown_kernel(self, kernel_id: str, *args: Any, **kwargs: Any) -> Any:
            """Every shutdown (the page's own on unload, culling, ours): the kernel stops counting at once.

            A busy kernel asked to shut down politely is listed until it answers or is killed
            (seconds under load); its viewer has left, so it must not hold their room meanwhile.
            """
            closing = kernel_id not in budget._closing
            budget._closing.add(kernel_id)
            try:
                return await super().shutdown_kernel(kernel_id, *args, **kwargs)
            finally:
                if closing:
                    budget._closing.discard(kernel_id)

        if hasattr(manager_class, "get_rendered_notebook"):
            async def get_rendered_notebook(self, *args: Any, **kwargs: Any) -> Any:
                """A preheated kernel handed to a request: the page's kernel from now on."""
                found = await super().get_rendered_notebook(*args, **kwargs)
                budget.serves(found[2])
                page = _PAGE.get()
                if page is not None:
                    budget.attach(page, found[2])  # (render task, rendered cells, kernel id)
                return found

    return CappedKernelManager


def cap_kernels(budget: KernelBudget) -> None:
    """Make the kernel manager class Voila builds respect ``budget`` (:func:`capped_manager_class`).

    Wraps ``voila.app.voila_kernel_manager_factory`` (once per call; the server calls it once) and
    patches Voila's page handler (:func:`watch_pages`).
    """
    import voila.app

    factory = voila.app.voila_kernel_manager_factory

    def capped_factory(base_class: type, preheat_kernel: bool, default_pool_size: int,
                       page_config_hook: Any = None) -> type:
        manager_class = factory(base_class, preheat_kernel, default_pool_size, page_config_hook=page_config_hook)
        return capped_manager_class(budget, manager_class)

    voila.app.voila_kernel_manager_factory = capped_factory
    watch_pages(budget)
    allow_unload_shutdown()


def allow_unload_shutdown() -> bool:
    """Let Voila's page shut its kernel down as it unloads (``POST /voila/api/shutdown/<id>``).

    The page sends that request as a beacon, which carries no XSRF header, so the server refused it
    (403 "'_xsrf' argument missing from POST", seen in the load test's log) and every closed page's
    kernel stayed until reclaimed. A browser sends ``Origin`` with such a POST, and the guard has
    already refused any Origin not allowed (:mod:`workbench.serve.guard`): with an Origin the XSRF
    check is skipped; without one it stands. True if patched now (once per process).
    """
    from voila.shutdown_kernel_handler import VoilaShutdownKernelHandler

    if getattr(VoilaShutdownKernelHandler.check_xsrf_cookie, "_workbench_fix", False):
        return False
    original = VoilaShutdownKernelHandler.check_xsrf_cookie

    def check_xsrf_cookie(self: Any) -> Any:
        if self.request.headers.get("Origin"):  # checked against the allowed hosts by the guard
            return None
        return original(self)

    check_xsrf_cookie._workbench_fix = True  # type: ignore[attr-defined]
    VoilaShutdownKernelHandler.check_xsrf_cookie = check_xsrf_cookie
    return True


#: The budget the patched Voila handler reports to (the server's; set by :func:`watch_pages`).
_BUDGET: KernelBudget | None = None


class _QuietAbandoned(logging.Filter):
    """Drops the error a cell of an abandoned page logs when its kernel is shut down under it."""

    def filter(self, record: logging.LogRecord) -> bool:
        kid = _RENDERING.get()
        return not (kid is not None and _BUDGET is not None and kid in _BUDGET.abandoned)


_QUIET = _QuietAbandoned()


def watch_pages(budget: KernelBudget) -> bool:
    """Tell ``budget`` which page each request kernel serves, and shut down those of pages closed early.

    Patches Voila's page handler (``voila.tornado.handler.TornadoVoilaHandler``, once per process;
    later calls only change the budget): ``get`` runs with the request's :class:`Page` (the kernel
    manager attaches the kernel it starts or hands over to it) and first waits for room when the
    guard asked it to (``request.workbench_wait``, an async callable answering None or the refusal
    ``(status, body, headers)``); ``on_connection_close`` abandons the page
    (:meth:`KernelBudget.abandon`). The notebook renderer's cell generator stops after the cell
    running when its kernel was abandoned (and a kernel start that fails because of it yields no
    cell), so the handler ends instead of failing cell after cell or, when the start failed, waiting
    for ever; a handler not ended :data:`ABANDONED_GRACE` seconds after is cancelled. The errors
    logged by the cell or start cut short are dropped. True if patched now.
    """
    global _BUDGET
    _BUDGET = budget
    from voila.notebook_renderer import NotebookRenderer
    from voila.tornado.handler import TornadoVoilaHandler

    if getattr(TornadoVoilaHandler.get, "_workbench_fix", False):
        return False
    original_get = TornadoVoilaHandler.get
    original_close = TornadoVoilaHandler.on_connection_close
    original_cells = NotebookRenderer._jinja_cell_generator
    original_start = NotebookRenderer._jinja_kernel_start

    async def get(self: Any, path: str | None = None) -> Any:
        page = Page(client=self.request.headers.get(CLIENT_HEADER), connection=self.request.connection)
        self._workbench_page = page
        try:
            wait = getattr(self.request, "workbench_wait", None)
            if wait is not None:
                refusal = await wait()
                if page.abandoned:
                    return None
                if refusal is not None:
                    status, body, headers = refusal
                    self.set_status(status)
                    for name, value in headers.items():
                        self.set_header(name, value)
                    self.set_header("Content-Type", "text/html; charset=utf-8")
                    self.set_header("Cache-Control", "no-store")
                    self.finish(body)
                    return None
            token = _PAGE.set(page)
            try:
                page.task = asyncio.ensure_future(original_get(self, path))  # with the page in its context
            finally:
                _PAGE.reset(token)
            try:
                return await page.task
            except asyncio.CancelledError:
                if page.abandoned and page.task.cancelled():  # stopped after ABANDONED_GRACE
                    return None
                raise
        finally:
            if _BUDGET is not None:
                _BUDGET.finished(page)
            else:
                page.finished = True

    def on_connection_close(self: Any) -> None:
        original_close(self)
        page = getattr(self, "_workbench_page", None)
        if page is not None and _BUDGET is not None:
            _BUDGET.abandon(page)

    def abandoned(kernel_id: str) -> bool:
        return _BUDGET is not None and kernel_id in _BUDGET.abandoned

    async def kernel_start(self: Any, nb: Any, kernel_id: str, kernel_future: Any) -> Any:
        log = getattr(self, "log", None)
        if isinstance(log, logging.Logger) and _QUIET not in log.filters:
            log.addFilter(_QUIET)
        token = _RENDERING.set(kernel_id)
        try:
            return await original_start(self, nb, kernel_id, kernel_future)
        except Exception:
            if abandoned(kernel_id):  # shut down while it started: the cell generator stops at once
                return kernel_id
            raise
        finally:
            _RENDERING.reset(token)

    async def cell_generator(self: Any, nb: Any, kernel_id: str) -> Any:
        if abandoned(kernel_id):
            return
        cells = original_cells(self, nb, kernel_id)
        left = False
        try:
            while True:
                token = _RENDERING.set(kernel_id)
                try:
                    cell = await cells.__anext__()
                except StopAsyncIteration:
                    return
                finally:
                    _RENDERING.reset(token)
                if abandoned(kernel_id):
                    left = True
                    break
                yield cell
        finally:
            await cells.aclose()
        if left:  # what the original does after the last cell
            with contextlib.suppress(Exception):
                await self._cleanup_resources()

    get._workbench_fix = True  # type: ignore[attr-defined]
    TornadoVoilaHandler.get = get  # type: ignore[method-assign]
    TornadoVoilaHandler.on_connection_close = on_connection_close  # type: ignore[method-assign]
    NotebookRenderer._jinja_cell_generator = cell_generator  # type: ignore[method-assign]
    NotebookRenderer._jinja_kernel_start = kernel_start  # type: ignore[method-assign]
    return True


def process_memory_mb(pid: int | None = None) -> float:
    """Resident memory of process ``pid`` (default: this one) and all its children, in MB (0 if unknown)."""
    try:
        import psutil
    except ImportError:
        return 0.0
    try:
        proc = psutil.Process(pid or os.getpid())
        total = proc.memory_info().rss
        for child in proc.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.Error:
                continue
    except psutil.Error:
        return 0.0
    return round(total / 2**20, 1)

