"""The failure alert: one message naming the DAG, the business date, the task and the reason, to a real webhook."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest

from arrears.orchestration.alerts import alert_on_failure


class _Collector(BaseHTTPRequestHandler):
    received: list[dict[str, str]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Collector.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def webhook(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, str]]:
    server = HTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Collector.received = []
    monkeypatch.setenv("ARREARS_ALERT_WEBHOOK", f"http://127.0.0.1:{server.server_port}/hook")
    yield _Collector.received
    server.shutdown()


def _context(error: Exception) -> dict[str, object]:
    return {
        "dag": SimpleNamespace(dag_id="collections_export"),
        "task_instance": SimpleNamespace(task_id="publish"),
        "dag_run": SimpleNamespace(conf={"business_date": "2026-11-21"}),
        "exception": error,
    }


def test_one_alert_names_date_task_and_reason(webhook: list[dict[str, str]], arrears_home: Path) -> None:
    alert_on_failure(_context(RuntimeError("QualityGateFailed: legal suite failed\ndetails...")))
    assert webhook == [
        {
            "dag": "collections_export",
            "business_date": "2026-11-21",
            "task": "publish",
            "reason": "QualityGateFailed: legal suite failed",
        }
    ]
    logged = (arrears_home / "alerts.log").read_text(encoding="utf-8").splitlines()
    assert len(logged) == 1 and json.loads(logged[0])["task"] == "publish"


def test_an_unreachable_webhook_does_not_mask_the_failure(monkeypatch: pytest.MonkeyPatch, arrears_home: Path) -> None:
    monkeypatch.setenv("ARREARS_ALERT_WEBHOOK", "http://127.0.0.1:1/unreachable")
    alert_on_failure(_context(RuntimeError("boom")))  # must not raise
    assert "boom" in (arrears_home / "alerts.log").read_text(encoding="utf-8")
