"""Dashboards (Voila) and JupyterLab over the topic notebooks, and parameters read from a dashboard's URL.

``workbench serve`` runs Voila on 127.0.0.1 over ``notebooks/`` with the ``workbench`` template
(``templates/voila/templates/workbench``): a landing page that lists the topic notebooks present,
a navigation bar above every dashboard, no code, no tracebacks, nothing loaded from a CDN.
Each notebook has one preheated kernel (the pools fill one notebook at a time, in name order:
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

The three changes to Voila's behaviour are made in the server process only, each once, and
are tied to the pinned versions (voila 0.5.13, jupyter_client 8.10, pyzmq 27).
"""

from __future__ import annotations

import argparse
import heapq
import os
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

#: Kernels of closed pages are shut down after this many idle seconds (checked every CULL_INTERVAL).
CULL_IDLE_TIMEOUT = 900
CULL_INTERVAL = 60

_TEMPLATES = Path(__file__).resolve().parent / "templates"


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
    page_config["workbench"] = {"topics": dashboard_pages(), "current": Path(kwargs.get("notebook_path") or "").stem}
    return page_config


def voila_argv(folder: Path, port: int, preheat: bool = True) -> list[str]:
    """Command-line arguments for Voila serving ``folder`` on 127.0.0.1:``port``."""
    argv = [
        str(folder),
        "--no-browser",
        "--Voila.ip=127.0.0.1",
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


def main(args: argparse.Namespace) -> int:
    """``workbench serve``: run the dashboards until interrupted; return the exit code.

    ``args.port`` (int), ``args.data`` (data folder or None: the sample shop) and
    ``args.preheat`` (bool). The data folder reaches the kernels as ``WORKBENCH_DATA``.
    """
    folder = notebooks_dir()
    port = int(getattr(args, "port", 8866))
    data = getattr(args, "data", None)
    if data:
        path = Path(data).expanduser().resolve()
        if not path.exists():
            raise WorkbenchError(f"data folder {data} does not exist; give a folder of <table>.parquet/.csv files "
                                 "or a DuckDB file, or leave --data out for the sample shop")
        os.environ["WORKBENCH_DATA"] = str(path)
    _use_templates()
    fix_async_shell_send()
    route_queries_to_fresh_kernels()
    limit_preheating()

    from traitlets.config import Config
    from voila.app import Voila

    config = Config()
    config.VoilaConfiguration.page_config_hook = page_config_hook
    app = Voila.instance(config=config)  # the singleton: traitlets then logs cell errors through it
    app.initialize(voila_argv(folder, port, preheat=bool(getattr(args, "preheat", True))))
    print(f"dashboards: http://127.0.0.1:{port}/  (Ctrl+C to stop)", flush=True)
    app.start()
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
