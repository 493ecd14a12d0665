"""Dashboards (Voila) and JupyterLab over the topic notebooks, and parameters read from a dashboard's URL.

``workbench serve`` runs Voila on 127.0.0.1 (``--ip`` for another address) over ``notebooks/`` with
the ``workbench`` template (``templates/voila/templates/workbench``): a landing page that lists the
topic notebooks present, a navigation bar above every dashboard, no code, no tracebacks, nothing
loaded from a CDN. The port is bound first (:func:`bind`), then every request passes the guard of
:mod:`workbench.serve.guard` (Host/Origin, login beyond 127.0.0.1 (:mod:`~workbench.serve.auth`),
per-client limits, 400 for refused parameters), which answers a dashboard from a batch report when
one matches (:mod:`~workbench.serve.snapshot`) and keeps live kernels within a budget
(:mod:`~workbench.serve.kernels`). Only notebooks without a snapshot are preheated by default
(:func:`preheat_choice`; the pools fill one notebook at a time, in name order:
:func:`limit_preheating`), and kernels of closed pages are culled after 15 idle minutes.
Voila's output-widget stall is worked around in the server (:func:`fix_async_shell_send`).

URL parameters. A link such as ``/voila/render/01_sales_traffic.ipynb?period=last-90d&language=en``
sets notebook parameters. The notebook's ``setup`` calls :func:`url_parameters`, which reads the
query string the way Voila hands it to the kernel. How that meets preheating:

* A kernel started for a request gets the query string in its environment (``QUERY_STRING``).
* A preheated kernel runs the notebook *before* any request exists, so it cannot know the
  query string while it renders. Voila 0.5.13 nevertheless hands a preheated kernel to every
  request, with or without a query string (only ``?template=``/``?theme=`` make it start a fresh
  one). ``workbench serve`` therefore changes that choice (:func:`route_queries_to_fresh_kernels`):
  a request *without* a query string gets the preheated, fully rendered page at once; a request
  *with* one gets a kernel started for it, which reads ``QUERY_STRING``. The server tells its
  kernels so (``WORKBENCH_QUERY_KERNELS=fresh``), and a preheated kernel then knows it serves no
  parameters and does not wait.
* Under a plain ``voila --preheat_kernel=True`` (without that routing) a preheated kernel falls
  back to Voila's own channel: it connects to the websocket ``/voila/query/<kernel id>`` and waits
  there, at ``setup``, until a request takes it and its query string arrives. Correct, but only the
  kernel start and the imports are done ahead of the viewer.

Every value is checked by :func:`workbench.app.params.validate` before anything runs; a refused link
shows what is wrong in the page and stops the notebook. Nothing from a URL is ever executed.
``data`` and ``findings_path`` are refused in URLs: a viewer must not choose which files the
server reads or writes (``workbench serve --data`` chooses the data).

The changes to Voila's behaviour (these three, the kernel cap and the guarded application of
:func:`voila_class`) are made in the server process only, each once, and are tied to the pinned
versions (voila 0.5.13, jupyter_client 8.10, pyzmq 27, tornado 6.6).
"""

from __future__ import annotations

import argparse
import heapq
import os
import re
import socket
from pathlib import Path
from typing import Any

from workbench.app.url import (  # noqa: F401  (re-exported: the server and its tests use them)
    CONNECT_TIMEOUT,
    QUERY_KERNELS_ENV,
    SERVER_ONLY,
    URL_PARAMETERS,
    check_query,
    in_voila,
    refusal_html,
    request_info,
    url_parameters,
)
from workbench.errors import WorkbenchError

#: Preheated notebooks rendered at the same time (the pools fill one after the other).
PREHEAT_CONCURRENCY = 1

#: Seconds after a preheated kernel is handed to a viewer before its pool starts the next one
#: (Voila's default, 1 s, made the refill's notebook render compete with the page being shown).
REFILL_DELAY = 20.0

#: Seconds a page waits for room under the kernel caps before its 429 (default ``Limits.room_wait``).
ROOM_WAIT_ENV = "WORKBENCH_ROOM_WAIT"

#: Kernels of closed pages are shut down after this many idle seconds (checked every CULL_INTERVAL).
CULL_IDLE_TIMEOUT = 900
CULL_INTERVAL = 60

_TEMPLATES = Path(__file__).resolve().parent / "templates"

#: The dashboards' folder of the running server (None: :func:`notebooks_dir`).
_SERVED: Path | None = None


# ----- dashboards (runs in the server) ---------------------------------------------------------
def notebooks_dir() -> Path:
    """The checkout's ``notebooks/`` folder; :class:`WorkbenchError` when there is none."""
    from workbench.app.notebook import repo_root

    root = repo_root()
    if root is None or not (root / "notebooks").is_dir():
        raise WorkbenchError("no notebooks/ folder found: run `workbench serve` and `workbench lab` from a checkout "
                             "installed with `pip install -e .`")
    return root / "notebooks"


def template_root() -> Path:
    """The Jupyter data folder holding the ``workbench`` Voila template (added to ``JUPYTER_PATH``)."""
    return _TEMPLATES


def dashboard_pages(folder: Path | None = None) -> list[dict[str, str]]:
    """The topic notebooks present in ``folder`` (default: :func:`notebooks_dir`), in order.

    Each item holds ``name`` (file stem), ``file``, ``number``, ``title_zh``, ``title_en``,
    ``question_zh`` and ``question_en`` (titles from :mod:`workbench.text.pages`; a notebook that is
    not registered there is titled by its file name).
    """
    from workbench.text.pages import topic

    folder = folder or notebooks_dir()
    pages = []
    for path in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
        t = topic(path.stem)
        pages.append({"name": path.stem, "file": path.name, "number": path.stem[:2],
                      "title_zh": t.title_zh, "title_en": t.title_en,
                      "question_zh": t.question_zh, "question_en": t.question_en})
    return pages


def page_config_hook(page_config: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Voila's ``page_config_hook``: add the topic list (``page_config["workbench"]``) for the templates.

    Called by Voila for the landing page and every dashboard (also when a kernel is preheated);
    ``kwargs`` holds Voila's ``notebook_path``, ``base_url``... Changes ``page_config`` in place
    and returns it (Voila uses either).
    """
    page_config["workbench"] = {"topics": dashboard_pages(_SERVED), "current": Path(kwargs.get("notebook_path") or "").stem,
                                "plotly_light": _light_plotly()}
    return page_config


def _light_plotly() -> str | None:
    """The file name of plotly's basic bundle under ``/workbench/assets/`` when it was fetched (else None:
    the dashboards load the full plotly.js); looked up once per server."""
    global _LIGHT_PLOTLY
    if _LIGHT_PLOTLY is None:
        from workbench.serve import plotly_bundle

        found = plotly_bundle.light_bundle()
        _LIGHT_PLOTLY = found.name if found is not None else ""
    return _LIGHT_PLOTLY or None


_LIGHT_PLOTLY: str | None = None


def voila_argv(folder: Path, port: int, preheat: bool = True, ip: str = "127.0.0.1") -> list[str]:
    """Command-line arguments for Voila serving ``folder`` on ``ip``:``port``."""
    argv = [
        str(folder),
        "--no-browser",
        f"--Voila.ip={ip}",
        f"--port={port}",
        "--Voila.port_retries=0",  # a preheated kernel must know the real port; fail if it is taken
        "--template=workbench",
        "--theme=light",
        "--classic_tree=True",  # the jinja tree page, which the template replaces by the topic list
        "--VoilaConfiguration.allow_template_override=NO",
        "--VoilaConfiguration.allow_theme_override=NO",
        "--show_tracebacks=False",
        "--VoilaExecutor.cell_error_instruction=The details are in the server's log.",
        f"--MappingKernelManager.cull_idle_timeout={CULL_IDLE_TIMEOUT}",
        f"--MappingKernelManager.cull_interval={CULL_INTERVAL}",
    ]
    if preheat:
        argv += ["--preheat_kernel=True", "--pool_size=1"]
    return argv


def fix_async_shell_send() -> bool:
    """Keep Voila from stalling on notebooks that draw into ``ipywidgets.Output``; return True if applied.

    While Voila (nbclient) waits for a cell's ``execute_reply`` on the kernel's shell socket, its
    server-side Output widget sends ``comm_msg`` updates on that same socket. jupyter_client sends
    through a blocking shadow of the asyncio socket, which can consume the socket's edge-triggered
    readiness signal: the reply then sits unread and the page stops after a few cells, for ever
    (voila-dashboards/voila#1428, jupyter/jupyter_client#1059; seen here with every section of
    01_sales_traffic). After each send on an asyncio channel this re-reads the socket's events so
    that pending readers are woken. Applies once per process (the Voila server's).
    """
    from jupyter_client.channels import AsyncZMQSocketChannel

    if getattr(AsyncZMQSocketChannel.send, "_workbench_fix", False):
        return False
    original = AsyncZMQSocketChannel.send

    def send(self: AsyncZMQSocketChannel, msg: dict[str, Any]) -> None:
        original(self, msg)
        wake = getattr(self.socket, "_schedule_remaining_events", None)
        if wake is not None and not self.socket.closed:
            wake()

    send._workbench_fix = True  # type: ignore[attr-defined]
    AsyncZMQSocketChannel.send = send  # type: ignore[method-assign]
    return True


def route_queries_to_fresh_kernels() -> bool:
    """Make Voila start a kernel for every request that has a query string; True if applied now.

    Voila's ``VoilaHandler.should_use_rendered_notebook`` hands the preheated, already rendered
    page to any request (it only compares ``?template=`` and ``?theme=``), which would show the
    defaults for a link with parameters. With this, a preheated page serves only requests
    without a query string. Also sets :data:`QUERY_KERNELS_ENV` for the kernels (inherited).
    """
    from voila.handler import VoilaHandler

    os.environ[QUERY_KERNELS_ENV] = "fresh"
    if getattr(VoilaHandler.should_use_rendered_notebook, "_workbench_fix", False):
        return False
    original = VoilaHandler.should_use_rendered_notebook

    def should_use_rendered_notebook(self: VoilaHandler, notebook_data: dict, pool_size: int, template_name: str,
                                     theme: str, request_args: dict) -> bool:
        if request_args:
            return False
        return original(self, notebook_data, pool_size, template_name, theme, request_args)

    should_use_rendered_notebook._workbench_fix = True  # type: ignore[attr-defined]
    VoilaHandler.should_use_rendered_notebook = should_use_rendered_notebook  # type: ignore[method-assign]
    return True


class _PreheatQueue:
    """Slots for preheat renders, handed out in notebook-name order (00, 01... first)."""

    def __init__(self, slots: int) -> None:
        import asyncio

        self._loop = asyncio.get_running_loop()
        self._free = max(1, slots)
        self._waiting: list[tuple[str, int, Any]] = []
        self._count = 0
        self._scheduled = False

    async def acquire(self, key: str) -> None:
        """Wait for a slot; requests made in the same loop iteration are served by ``key``."""
        future = self._loop.create_future()
        self._count += 1
        heapq.heappush(self._waiting, (key, self._count, future))
        self._dispatch_soon()
        await future

    def release(self) -> None:
        self._free += 1
        self._dispatch_soon()

    def _dispatch_soon(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._dispatch)

    def _dispatch(self) -> None:
        self._scheduled = False
        while self._free > 0 and self._waiting:
            _, _, future = heapq.heappop(self._waiting)
            if not future.done():
                self._free -= 1
                future.set_result(None)


def limit_preheating(concurrency: int = PREHEAT_CONCURRENCY) -> bool:
    """Render at most ``concurrency`` preheated notebooks at a time; True if applied now.

    Voila starts the pools of every notebook at once. Each preheated kernel renders its whole
    notebook, so on two cores fourteen of them took a minute before the first was ready, and
    a viewer's own kernel competed with all of them. Here the pools fill one after the other,
    in name order (the rest wait their turn before starting a kernel), leaving a core for
    viewers; and a notebook whose preheated kernel has not started yet counts as having an
    empty pool, so its viewer gets a kernel of their own instead of waiting in the queue.
    Patches the kernel manager class Voila builds (``voila.app.voila_kernel_manager_factory``).
    Use with :func:`route_queries_to_fresh_kernels`: a preheated kernel that waited for its
    request would hold its slot until a viewer came.
    """
    import voila.app

    factory = voila.app.voila_kernel_manager_factory
    if getattr(factory, "_workbench_fix", False):
        return False

    def limited_factory(base_class: type, preheat_kernel: bool, default_pool_size: int,
                        page_config_hook: Any = None) -> type:
        manager_class = factory(base_class, preheat_kernel, default_pool_size, page_config_hook=page_config_hook)
        if not preheat_kernel:
            return manager_class

        class LimitedPreheatKernelManager(manager_class):  # type: ignore[misc, valid-type]
            _preheat_queue: _PreheatQueue | None = None

            async def _initialize(self, notebook_path: str, kernel_id: str | None = None,
                                  **kwargs: Any) -> dict[str, Any]:
                if self._preheat_queue is None:
                    self._preheat_queue = _PreheatQueue(concurrency)
                queue = self._preheat_queue
                await queue.acquire(str(notebook_path))
                try:
                    content = await super()._initialize(notebook_path, kernel_id, **kwargs)
                except BaseException:
                    queue.release()
                    raise
                content["task"].add_done_callback(lambda _: queue.release())  # the notebook is rendered
                return content

            def get_pool_size(self, notebook_name: str) -> int:
                """Preheated kernels that have started (Voila counts queued ones too)."""
                return sum(1 for task in self._pools.get(notebook_name, [])
                           if task.done() and not task.cancelled() and task.exception() is None)

        return LimitedPreheatKernelManager

    limited_factory._workbench_fix = True  # type: ignore[attr-defined]
    voila.app.voila_kernel_manager_factory = limited_factory
    return True


def _use_templates() -> None:
    paths = [str(template_root())] + [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    os.environ["JUPYTER_PATH"] = os.pathsep.join(dict.fromkeys(paths))


# ----- the server: bound socket, guarded application ----------------------------------------------
def bind(ip: str, port: int) -> list[Any]:
    """Listening sockets on ``ip``:``port`` (port 0: a free one), bound before anything else starts.

    Raises :class:`WorkbenchError` saying so when the port is taken or may not be used.
    """
    import errno

    from tornado.netutil import bind_sockets

    try:
        return bind_sockets(port, ip or None)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise WorkbenchError(f"port {port} on {ip or 'all addresses'} is already in use (another "
                                 "`workbench serve`, or another program, listens there); stop it or choose "
                                 "another port with --port") from None
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise WorkbenchError(f"port {port} may not be used by this user; choose one above 1024 with --port") from None
        if exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT) or isinstance(exc, socket.gaierror):
            raise WorkbenchError(f"{ip} is not an address of this machine; give one of its addresses with --ip, "
                                 "or 0.0.0.0 for all") from None
        raise


def voila_class() -> type:
    """The Voila application with the workbench's guard in front of every handler (made on first use)."""
    global _VOILA_CLASS
    if _VOILA_CLASS is not None:
        return _VOILA_CLASS
    import tempfile

    import tornado.web
    from jupyter_server.utils import url_path_join
    from tornado.httpserver import HTTPServer
    from tornado.ioloop import IOLoop
    from voila.app import Voila

    from workbench.present.report import plotly_js_path
    from workbench.serve import plotly_bundle
    from workbench.serve.guard import StatusHandler

    class GuardedApplication(tornado.web.Application):
        guard: Any = None

        def find_handler(self, request: Any, **kwargs: Any) -> Any:
            if self.guard is not None:
                delegate = self.guard.route(self, request)
                if delegate is not None:
                    return delegate
            return super().find_handler(request, **kwargs)

    class AssetHandler(tornado.web.StaticFileHandler):
        def get_cache_time(self, path: str, modified: Any, mime_type: str) -> int:
            return 86400

    class WorkbenchVoila(Voila):
        """Voila on sockets bound beforehand, behind :class:`workbench.serve.guard.Guard`."""

        guard: Any = None
        sockets: tuple[Any, ...] = ()
        xheaders: bool = False

        def init_handlers(self) -> list:
            base = self.server_url or self.base_url
            mine = [(url_path_join(base, r"/workbench/assets/(plotly\.min\.js)"), AssetHandler,
                     {"path": str(plotly_js_path().parent)})]
            light = plotly_bundle.light_bundle()
            if light is not None:  # plotly's basic bundle, fetched by `workbench assets`
                mine.append((url_path_join(base, r"/workbench/assets/(plotly-basic-[0-9.]+\.min\.js)"), AssetHandler,
                             {"path": str(light.parent)}))
            if self.guard is not None:
                mine.append((url_path_join(base, r"/workbench/status"), StatusHandler, {"guard": self.guard}))
            return mine + super().init_handlers()

        def start(self) -> None:  # Voila.start, with the guarded application
            self.connection_dir = tempfile.mkdtemp(prefix="voila_", dir=self.connection_dir_root)
            settings = self.init_settings()
            self.app = GuardedApplication(**settings)
            self.app.guard = self.guard
            self.app.settings.update(self.tornado_settings)
            self.app.settings["serve_traceback"] = False
            self.app.add_handlers(".*$", self.init_handlers())
            self.listen()

        def listen(self) -> None:  # on the sockets bound by :func:`bind`
            server = HTTPServer(self.app, xheaders=self.xheaders)
            server.add_sockets(self.sockets)
            self.ioloop = IOLoop.current()
            try:
                self.ioloop.start()
            except KeyboardInterrupt:
                self.log.info("Stopping...")
            finally:
                server.stop()
                self.stop()

    _VOILA_CLASS = WorkbenchVoila
    return WorkbenchVoila


_VOILA_CLASS: type | None = None


def preheat_choice(pages: list[str], with_snapshot: set[str], mode: str, most: int) -> list[str]:
    """The notebooks (file names) whose kernels are preheated.

    ``mode`` ``all``: every one; ``none``: none; ``auto``: those without a snapshot for the default
    parameters (a snapshot answers at once anyway), in name order, at most ``most``; otherwise a
    comma-separated list of notebooks (:class:`WorkbenchError` naming any that is not served).
    """
    if mode == "none":
        return []
    if mode == "all":
        return list(pages)
    if mode != "auto":  # a comma-separated list of notebooks (stems or file names)
        wanted = {Path(n.strip()).stem for n in mode.split(",") if n.strip()}
        unknown = wanted - {Path(p).stem for p in pages}
        if unknown:
            raise WorkbenchError(f"--preheat names notebooks that are not served: {', '.join(sorted(unknown))}; "
                                 "give auto, all, none or names such as 01_sales_traffic")
        return [p for p in pages if Path(p).stem in wanted]
    return [p for p in pages if Path(p).stem not in with_snapshot][:max(0, most)]


def preheat_denylist(pages: list[str], warm: list[str]) -> list[str]:
    """Voila's ``preheat_denylist`` for the notebooks of ``pages`` not in ``warm``.

    Voila matches each pattern with :func:`re.match` against the notebook's *absolute* path, so a
    pattern names the file after a slash, to the end.
    """
    return [rf".*/{re.escape(p)}$" for p in pages if p not in warm]


def _display_host(ip: str) -> str:
    if ip in ("", "0.0.0.0", "::"):
        return socket.gethostname()
    return f"[{ip}]" if ":" in ip else ip


def main(args: argparse.Namespace) -> int:
    """``workbench serve``: run the dashboards until interrupted; return the exit code.

    ``args`` (argparse, every field optional): ``action`` (``passwd``: set the password and stop),
    ``ip`` (default 127.0.0.1), ``port`` (8866), ``data`` (data folder; default the sample shop; it
    reaches the kernels as ``WORKBENCH_DATA``), ``preheat`` (False: no preheated kernels),
    ``preheat_mode``/``preheat_max``, ``allow_host`` (more host names), ``login`` (require a login on
    127.0.0.1 too), ``max_kernels``, ``kernels_per_client``, ``reclaim_after``, ``room_wait`` (else
    :data:`ROOM_WAIT_ENV`), ``reports`` (the reports root for snapshots;
    ``snapshots`` False: none), ``behind_proxy`` (trust X-Forwarded-For/-Proto), ``notebooks``.
    """
    if getattr(args, "action", None) == "passwd":
        return passwd(args)
    from workbench.serve import auth, kernels, snapshot
    from workbench.serve.guard import Guard, HostPolicy, Limits, is_local_address

    global _SERVED
    folder = Path(args.notebooks).resolve() if getattr(args, "notebooks", None) else notebooks_dir()
    _SERVED = folder
    ip = str(getattr(args, "ip", None) or "127.0.0.1")
    port = int(getattr(args, "port", 8866))
    data = getattr(args, "data", None)
    if data:
        path = Path(data).expanduser().resolve()
        if not path.exists():
            raise WorkbenchError(f"data folder {data} does not exist; give a folder of <table>.parquet/.csv files "
                                 "or a DuckDB file, or leave --data out for the sample shop")
        os.environ["WORKBENCH_DATA"] = str(path)
    engine = getattr(args, "engine", None)
    if engine:  # the kernels open the data on it (WORKBENCH_ENGINE); checked here, before any kernel starts
        from workbench.sql import spark

        name, master = spark.parse_engine(engine)
        if name == "spark":
            spark.check_available(master)
        os.environ["WORKBENCH_ENGINE"] = engine
    from workbench.app.paths import default_data

    login = bool(getattr(args, "login", False)) or not is_local_address(ip)
    credentials = auth.Credentials(required=login, password=auth.load_password() if login else None)
    wait = getattr(args, "room_wait", None)
    wait = os.environ.get(ROOM_WAIT_ENV) if wait is None else wait
    limits = Limits(max_kernels=int(getattr(args, "max_kernels", None) or Limits.max_kernels),
                    kernels_per_client=int(getattr(args, "kernels_per_client", None) or Limits.kernels_per_client),
                    room_wait=Limits.room_wait if wait in (None, "") else max(0.0, float(wait)))
    index = None
    if getattr(args, "snapshots", True):
        reports = Path(getattr(args, "reports", None) or snapshot.default_reports_root()).expanduser()
        index = snapshot.SnapshotIndex(reports, default_data())
        index.refresh(force=True)
    budget = kernels.KernelBudget(limits.max_kernels, float(getattr(args, "reclaim_after", None)
                                                             or kernels.RECLAIM_AFTER))
    drawer = None
    if index is not None and getattr(args, "draw_ahead", True):
        from workbench.serve.drawn import Drawer

        drawer = Drawer()
        for snap in index.snapshots():  # the newest runs first; a request for another page jumps in later
            drawer.request(snap.page)
    guard = Guard(hosts=HostPolicy.for_address(ip, getattr(args, "allow_host", None) or []), credentials=credentials,
                  limits=limits, notebooks=folder, snapshots=index, kernels=budget, drawer=drawer)

    pages = [p["file"] for p in dashboard_pages(folder)]
    mode = "none" if not getattr(args, "preheat", True) else str(getattr(args, "preheat_mode", None) or "auto")
    warm = preheat_choice(pages, index.notebooks() if index is not None else set(), mode,
                          int(getattr(args, "preheat_max", None) or 2))

    sockets = bind(ip, port)  # before anything prints a URL or starts a kernel
    port = sockets[0].getsockname()[1]
    _use_templates()
    from workbench.app.notebook import PAGE_PLOTLY_ENV

    os.environ[PAGE_PLOTLY_ENV] = "queue"  # inherited by the kernels: charts through the page's plotly.js
    from workbench.app.mode import with_kernel_threads

    with_kernel_threads(os.environ)  # one BLAS thread per kernel (see workbench.app.mode.KERNEL_THREADS)
    fix_async_shell_send()
    route_queries_to_fresh_kernels()
    limit_preheating()
    kernels.cap_kernels(budget)

    from traitlets.config import Config

    config = Config()
    config.VoilaConfiguration.page_config_hook = page_config_hook
    config.VoilaConfiguration.http_header_envs = [kernels.CLIENT_HEADER]  # who started a kernel (the guard sets it)
    if warm:
        config.VoilaKernelManager.preheat_denylist = preheat_denylist(pages, warm)
        config.VoilaKernelManager.fill_delay = REFILL_DELAY  # the viewer's page first, then the refill
    cls = voila_class()
    cls.guard, cls.sockets, cls.xheaders = guard, tuple(sockets), bool(getattr(args, "behind_proxy", False))
    app = cls.instance(config=config)  # the singleton: traitlets then logs cell errors through it
    app.initialize(voila_argv(folder, port, preheat=bool(warm), ip=ip))
    url = f"http://{_display_host(ip)}:{port}/"
    snaps = len(index) if index is not None else 0
    print(f"dashboards: {url}  (Ctrl+C to stop)", flush=True)
    if login:
        print(f"login link: {url}?token={credentials.token}", flush=True)
        print("  (or the password set with `workbench serve passwd`)" if credentials.password else
              "  (set a password for the team with `workbench serve passwd`)", flush=True)
    print(f"snapshots: {snaps} pages from {index.root if index is not None else '-'}; preheated: "
          f"{', '.join(Path(p).stem for p in warm) or 'none'}; at most {limits.max_kernels} live dashboards",
          flush=True)
    app.start()
    return 0


def passwd(args: argparse.Namespace) -> int:
    """``workbench serve passwd``: ask for the dashboards' password (twice) and store its hash; 0 when set.

    With ``args.password_stdin`` (or when stdin is not a terminal) the password is the first line of stdin.
    """
    import getpass
    import sys

    from workbench.serve import auth

    if getattr(args, "password_stdin", False) or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("dashboard password: ")
        if getpass.getpass("again: ") != password:
            raise WorkbenchError("the two passwords differ; nothing was changed")
    path = auth.set_password(password)
    print(f"password hash stored in {path} (scrypt with a random salt; the password itself is not kept)")
    return 0


def lab_argv(folder: Path, port: int) -> list[str]:
    """Command-line arguments for JupyterLab on ``folder`` bound to 127.0.0.1:``port``."""
    argv = [f"--ServerApp.root_dir={folder}", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        argv.append("--allow-root")
    return argv


def lab(args: argparse.Namespace) -> int:
    """``workbench lab``: JupyterLab on the notebooks (``args.port``) until interrupted; the exit code."""
    folder = notebooks_dir()
    from jupyterlab.labapp import LabApp

    LabApp.launch_instance(argv=lab_argv(folder, int(getattr(args, "port", 8888))))
    return 0
