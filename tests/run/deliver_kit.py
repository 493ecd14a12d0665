"""Helpers of the delivery tests: tiny notebooks with Chinese findings and KPIs, a local webhook
receiver and a local SMTP server (both on 127.0.0.1, started and stopped by the tests)."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from batch_notebooks import CHART, RECORD, make_notebook

RED_TEXT = "成交额较对比期下降 28.3%，主要来自天猫渠道"
AMBER_TEXT = "退款率升至 3.4%，高于对比期"
GREEN_TEXT = "客单价 287 元，与对比期持平"


def kpi(key: str, value: float, unit: str, low: float | None = None, high: float | None = None,
        status: str = "green") -> dict[str, Any]:
    return {"section": "headlines", "key": key, "page": "01_sales_traffic", "unit": unit, "better": "up",
            "value": {"estimate": value, "low": low, "high": high, "level": 0.95, "n": 500, "method": "total",
                      "unit": unit, "too_few": False},
            "comparison": None, "change": -0.1, "status": status, "reason": None}


def alert_notebook(folder: Path, stem: str, gmv: float = 1442092.0, orders: int = 5030) -> Path:
    """A notebook whose record holds a red, an amber and a green headline finding, KPIs, and a chart."""
    findings = [
        {"key": "gmv", "text": RED_TEXT, "section": "main", "status": "red", "headline": True},
        {"key": "refunds", "text": AMBER_TEXT, "section": "main", "status": "amber", "headline": True},
        {"key": "aov", "text": GREEN_TEXT, "section": "main", "status": "green", "headline": True},
    ]
    kpis = [kpi("gmv", gmv, "money", status="red"), kpi("orders", orders, "count"),
            kpi("conversion", 0.02, "share", 0.019, 0.021)]
    return make_notebook(
        folder / f"{stem}.ipynb", RECORD, CHART,
        f"write_record({stem!r}, {findings!r})\n"
        f"rec = json.load(open(findings_path, encoding='utf-8'))\nrec['kpis'] = {kpis!r}\n"
        "json.dump(rec, open(findings_path, 'w', encoding='utf-8'), ensure_ascii=False)\n"
        "from IPython.display import display, HTML\n"
        f"display(HTML('<h2 class=\"wb-question\">哪些渠道带来了变化？</h2><p class=\"wb-finding\">{RED_TEXT}</p>'))")


def broken_notebook(folder: Path, stem: str) -> Path:
    return make_notebook(folder / f"{stem}.ipynb", RECORD, "raise ValueError('渠道表缺少 channel 列')")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver:
    """An HTTP server on 127.0.0.1 that records every POST (path, query, headers, JSON body).

    ``answers`` maps a path prefix to the JSON it answers (default ``{"errcode": 0}``).
    """

    def __init__(self, answers: dict[str, dict] | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answers = answers or {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                path, _, query = self.path.partition("?")
                outer.requests.append({"path": path, "query": query, "headers": dict(self.headers),
                                       "body": json.loads(raw.decode("utf-8"))})
                answer = next((a for p, a in outer.answers.items() if path.startswith(p)), {"errcode": 0})
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def to(self, path: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"] == path]


class Mailbox:
    """An SMTP server on 127.0.0.1 (aiosmtpd) keeping every message it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Any] = []
        outer = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                import email
                from email import policy

                outer.messages.append((list(envelope.rcpt_tos),
                                       email.message_from_bytes(envelope.original_content or envelope.content,
                                                                policy=policy.default)))
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> Mailbox:
        self.controller.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.controller.stop()
