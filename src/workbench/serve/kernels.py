"""How many kernels ``workbench serve`` runs: a cap on request kernels, reclaiming idle ones first.

A dashboard opened live needs a kernel of its own (its widgets live there). Without a cap, every
distinct query string started one (230–350 MB each) until the machine ran out of memory.
:class:`KernelBudget` counts the *request kernels* (every kernel except the preheated pools'
ones, which are bounded by the preheat setting) and allows at most ``max_kernels``. When the cap
is reached, kernels that no page is connected to, that are idle and have had no activity for
``reclaim_after`` seconds (a script that fetched a page and left), or whose page was connected and
has left (at once), are shut down to make room; when none is, the guard answers 429 (:mod:`workbench.serve.guard`) and
:func:`cap_kernels` refuses the start in the kernel manager as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Any

from workbench.errors import WorkbenchError

#: The request header the guard sets to the client's address, and the kernel variable Voila makes of it.
CLIENT_HEADER = "X-Workbench-Client"
CLIENT_ENV = "HTTP_X_WORKBENCH_CLIENT"

#: Seconds a kernel nobody is connected to must have been idle before it may be reclaimed.
RECLAIM_AFTER = 30.0


class KernelCapReached(WorkbenchError):
    """Raised when a kernel would be started beyond the cap and none can be reclaimed."""


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
        """Ids of running kernels that are not waiting in a preheated pool (nor being shut down)."""
        if self.manager is None:
            return []
        pooled = self._pooled()
        return [k for k in self.manager.list_kernel_ids() if k not in pooled and k not in self._closing]

    def observe(self) -> None:
        """Note which kernels have a page connected now (called every second by the kernel manager)."""
        if self.manager is None:
            return
        connections = getattr(self.manager, "_kernel_connections", {})
        running = set(self.manager.list_kernel_ids())
        self._connected = {k for k in self._connected if k in running} | \
            {k for k, n in connections.items() if n > 0 and k in running}

    def reclaimable(self, now: float | None = None) -> list[str]:
        """Request kernels no page is connected to and that are idle; longest idle first.

        A kernel whose page has left (it was connected, and is no more) may go at once; one that no
        page has connected to yet only after ``reclaim_after`` idle seconds, as its page may still be
        loading (or it served a script that fetched the page and left).
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
            if connections.get(kid, 0) > 0 or getattr(kernel, "execution_state", "idle") == "busy":
                continue
            last = getattr(kernel, "last_activity", None)
            idle = (now_utc - last).total_seconds() if last is not None else self.reclaim_after
            if kid in self._connected or idle >= self.reclaim_after:
                out.append((idle, kid))
        return [kid for _, kid in sorted(out, reverse=True)]

    def counts(self) -> dict[str, int]:
        """Running kernels: ``total``, ``request`` (capped), ``pooled``, ``ready`` (pooled and rendered)
        and ``reclaimable``."""
        if self.manager is None:
            return {"total": 0, "request": 0, "pooled": 0, "ready": 0, "reclaimable": 0}
        return {"total": len(self.manager.list_kernel_ids()), "request": len(self.request_kernels()),
                "pooled": len(self._pooled()), "ready": self.ready(), "reclaimable": len(self.reclaimable())}

    # ----- making room ---------------------------------------------------------------------------------
    def has_room(self) -> bool:
        """Whether one more request kernel fits, reclaiming (in the background) what is needed."""
        if self.manager is None:
            return True
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
                with contextlib.suppress(Exception):  # already gone
                    await self.manager.shutdown_kernel(kid, now=True)
            finally:
                self._closing.discard(kid)

        asyncio.ensure_future(stop())

    async def admit(self) -> None:
        """Before a request kernel starts: reclaim to make room, or raise :class:`KernelCapReached`."""
        if len(self.request_kernels()) < self.max_kernels:
            return
        for kid in self.reclaimable():
            self._closing.add(kid)
            try:
                with contextlib.suppress(Exception):  # already gone
                    await self.manager.shutdown_kernel(kid, now=True)
            finally:
                self._closing.discard(kid)
            if len(self.request_kernels()) < self.max_kernels:
                return
        raise KernelCapReached(f"all {self.max_kernels} dashboard kernels are in use")

    def lock(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock


def cap_kernels(budget: KernelBudget) -> None:
    """Make the kernel manager class Voila builds respect ``budget`` (binds it to the manager).

    Wraps ``voila.app.voila_kernel_manager_factory`` (once per call; the server calls it once):
    ``start_kernel`` of a request waits for :meth:`KernelBudget.admit` and raises a 429 error when
    the cap is reached. The preheated pools start their kernels through the base class and are
    not counted.
    """
    import tornado.ioloop
    import tornado.web
    import voila.app

    factory = voila.app.voila_kernel_manager_factory

    def capped_factory(base_class: type, preheat_kernel: bool, default_pool_size: int,
                       page_config_hook: Any = None) -> type:
        manager_class = factory(base_class, preheat_kernel, default_pool_size, page_config_hook=page_config_hook)

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
                client = (kwargs.get("env") or {}).get(CLIENT_ENV)
                if client:
                    budget.owners[kid] = client
                return kid

        return CappedKernelManager

    voila.app.voila_kernel_manager_factory = capped_factory


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

