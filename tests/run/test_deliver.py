"""Delivery of finished runs (workbench.deliver): notifications to local webhook and SMTP servers,
several shops in one run with a roll-up, the archive and its retention.

The runs are real batches of tiny notebooks (deliver_kit.py) through the ``workbench`` command.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.parse
from pathlib import Path

import pytest
from batch_notebooks import jupyter_env
from deliver_kit import AMBER_TEXT, GREEN_TEXT, RED_TEXT, Mailbox, Receiver, alert_notebook, broken_notebook, free_port

from workbench import cli
from workbench.deliver import archive, notify
from workbench.errors import ParameterError

pytestmark = pytest.mark.usefixtures("isolated_jupyter")

DING_SECRET = "SECtest-dingtalk-secret"
FEISHU_SECRET = "feishu-test-secret"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("deliver")
    nbs = base / "notebooks"
    data = base / "data"
    data.mkdir()
    return {"base": base, "data": data, "ok": [alert_notebook(nbs, "01_sales"), alert_notebook(nbs, "02_more")],
            "broken": broken_notebook(nbs, "03_broken")}


def _env(mp: pytest.MonkeyPatch, base: Path, receiver: Receiver | None, mailbox: Mailbox | None,
         reports: Path) -> None:
    for var, value in jupyter_env(base).items():
        mp.setenv(var, value)
    mp.setenv("WORKBENCH_REPORTS", str(reports))
    mp.setenv("WORKBENCH_NOTIFY_FILE", str(base / "no-such-notify.yaml"))
    if receiver is not None:
        mp.setenv("WORKBENCH_WECOM_URL", receiver.url + "/wecom?key=k1")
        mp.setenv("WORKBENCH_DINGTALK_URL", receiver.url + "/dingtalk?access_token=t1")
        mp.setenv("WORKBENCH_DINGTALK_SECRET", DING_SECRET)
        mp.setenv("WORKBENCH_FEISHU_URL", receiver.url + "/feishu")
        mp.setenv("WORKBENCH_FEISHU_SECRET", FEISHU_SECRET)
        mp.setenv("WORKBENCH_SLACK_URL", receiver.url + "/slack")
        mp.setenv("WORKBENCH_WEBHOOK_URL", receiver.url + "/hook")
    if mailbox is not None:
        mp.setenv("WORKBENCH_SMTP_HOST", "127.0.0.1")
        mp.setenv("WORKBENCH_SMTP_PORT", str(mailbox.port))
        mp.setenv("WORKBENCH_SMTP_SECURITY", "none")
        mp.setenv("WORKBENCH_SMTP_FROM", "workbench@example.com")


TARGETS = ["wecom", "dingtalk", "feishu", "slack", "webhook", "email:ops@example.com,lead@example.com"]


@pytest.fixture(scope="module")
def runs(world: dict) -> dict:
    """A succeeding and a failing run, each notifying every kind of target."""
    out = {}
    with Receiver() as receiver, Mailbox() as mailbox, pytest.MonkeyPatch.context() as mp:
        reports = world["base"] / "reports"
        _env(mp, world["base"], receiver, mailbox, reports)
        notify_args = [a for t in TARGETS for a in ("--notify", t)]
        for name, notebooks in (("ok", world["ok"]), ("failed", [*world["ok"], world["broken"]])):
            before = len(receiver.requests), len(mailbox.messages)
            code = cli.main(["run", *map(str, notebooks), "--data", str(world["data"]), "--end", "2025-12-31",
                             "--out", str(world["base"] / f"run-{name}"), "--jobs", "2", "--timeout", "120",
                             "-p", "language=zh", *notify_args])
            out[name] = {"code": code, "run": world["base"] / f"run-{name}",
                         "requests": receiver.requests[before[0]:], "mail": mailbox.messages[before[1]:]}
    return out


def _by_path(requests: list[dict], path: str) -> dict:
    found = [r for r in requests if r["path"] == path]
    assert len(found) == 1, f"expected one POST to {path}, got {len(found)}"
    return found[0]


def test_a_succeeding_run_notifies_every_target_with_status_findings_and_link(runs: dict) -> None:
    ok = runs["ok"]
    assert ok["code"] == 0
    wecom = _by_path(ok["requests"], "/wecom")["body"]
    assert wecom["msgtype"] == "markdown"
    text = wecom["markdown"]["content"]
    assert "全部成功" in text and "2025-12-31" in text
    assert RED_TEXT in text and AMBER_TEXT in text
    assert GREEN_TEXT not in text  # only red and amber headline findings
    assert text.index(RED_TEXT) < text.index(AMBER_TEXT)  # red first
    assert str((ok["run"] / "index.html").resolve()) in text
    slack = _by_path(ok["requests"], "/slack")["body"]
    assert RED_TEXT in slack["text"]
    hook = _by_path(ok["requests"], "/hook")["body"]
    assert hook["status"] == "succeeded" and hook["as_of"] == "2025-12-31" and hook["failures"] == []
    assert {a["status"] for a in hook["alerts"]} == {"red", "amber"}
    manifest = json.loads((ok["run"] / "run.json").read_text(encoding="utf-8"))
    assert [d["ok"] for d in manifest["notifications"]] == [True] * len(TARGETS)


def test_dingtalk_and_feishu_messages_carry_valid_signatures(runs: dict) -> None:
    ding = _by_path(runs["ok"]["requests"], "/dingtalk")
    query = urllib.parse.parse_qs(ding["query"])
    assert query["access_token"] == ["t1"]
    ts = query["timestamp"][0]
    # what DingTalk's server checks: HmacSHA256 keyed by the secret over "timestamp\nsecret", Base64
    expected = base64.b64encode(hmac.new(DING_SECRET.encode(), f"{ts}\n{DING_SECRET}".encode(),
                                         hashlib.sha256).digest()).decode()
    assert query["sign"] == [expected]
    assert ding["body"]["msgtype"] == "markdown" and RED_TEXT in ding["body"]["markdown"]["text"]
    feishu = _by_path(runs["ok"]["requests"], "/feishu")["body"]
    key = f"{feishu['timestamp']}\n{FEISHU_SECRET}".encode()
    assert feishu["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert feishu["msg_type"] == "text" and RED_TEXT in feishu["content"]["text"]


def test_the_email_reaches_every_recipient_in_the_report_language(runs: dict) -> None:
    mail = runs["ok"]["mail"]
    assert len(mail) == 1
    rcpts, msg = mail[0]
    assert sorted(rcpts) == ["lead@example.com", "ops@example.com"]
    assert "运营报告已完成" in msg["Subject"]
    body = msg.get_body(preferencelist=("plain",)).get_content()
    assert RED_TEXT in body and AMBER_TEXT in body


def test_a_failing_run_is_reported_as_failed_with_its_reason(runs: dict) -> None:
    failed = runs["failed"]
    assert failed["code"] == 1
    hook = _by_path(failed["requests"], "/hook")["body"]
    assert hook["status"] == "failed"
    assert [f["notebook"] for f in hook["failures"]] == ["03_broken"]
    assert "渠道表缺少 channel 列" in hook["failures"][0]["reason"]
    wecom = _by_path(failed["requests"], "/wecom")["body"]["markdown"]["content"]
    assert "有失败" in wecom and "2 个成功" in wecom and "渠道表缺少 channel 列" in wecom
    _, msg = failed["mail"][0]
    assert "有失败" in msg["Subject"]


def test_a_target_that_is_down_warns_and_sets_exit_code_5_without_hiding_the_report(
        world: dict, capsys: pytest.CaptureFixture[str]) -> None:
    with Receiver() as receiver, pytest.MonkeyPatch.context() as mp:
        _env(mp, world["base"], receiver, None, world["base"] / "reports")
        mp.setenv("WORKBENCH_SLACK_URL", f"http://127.0.0.1:{free_port()}/nobody-listens")
        out = world["base"] / "run-down"
        code = cli.main(["run", str(world["ok"][0]), "--data", str(world["data"]), "--end", "2025-12-31",
                         "--out", str(out), "--timeout", "120", "--notify", "slack", "--notify", "wecom"])
    assert code == 5
    assert (out / "index.html").is_file()
    assert "notification to slack failed" in capsys.readouterr().err
    sent = json.loads((out / "run.json").read_text(encoding="utf-8"))["notifications"]
    assert [(d["target"], d["ok"]) for d in sent] == [("slack", False), ("wecom", True)]
    assert receiver.to("/wecom")  # the other target still got its message


def test_a_platform_error_inside_http_200_counts_as_a_failed_delivery(world: dict) -> None:
    with Receiver({"/wecom": {"errcode": 93000, "errmsg": "invalid webhook url"}}) as receiver, \
            pytest.MonkeyPatch.context() as mp:
        _env(mp, world["base"], receiver, None, world["base"] / "reports")
        from workbench.deliver.summary import summarise

        summary = summarise(next((world["base"]).glob("run-ok")))
        [d] = notify.send_all([notify.parse_target("wecom")], summary, notify.settings_from())
    assert not d.ok and "93000" in d.error


def test_secrets_never_come_from_the_command_line() -> None:
    with pytest.raises(ParameterError, match="environment variable"):
        notify.parse_target("https://qyapi.example.com/cgi-bin/webhook/send?key=secret")
    with pytest.raises(ParameterError, match="unknown notification target"):
        notify.parse_target("pager")
    with pytest.raises(ParameterError, match="recipients"):
        notify.parse_target("email:")
    assert notify.parse_target("dingtalk@ops").setting("URL", {"WORKBENCH_DINGTALK_OPS_URL": "u"}) == "u"


def test_notify_targets_in_the_params_file_are_used_and_not_passed_to_notebooks(world: dict) -> None:
    params = world["base"] / "deliver-params.yaml"
    params.write_text("language: en\nnotify: [webhook]\n", encoding="utf-8")
    with Receiver() as receiver, pytest.MonkeyPatch.context() as mp:
        _env(mp, world["base"], receiver, None, world["base"] / "reports")
        code = cli.main(["run", str(world["ok"][0]), "--data", str(world["data"]), "--end", "2025-12-31",
                         "--out", str(world["base"] / "run-yaml"), "--timeout", "120", "--params", str(params)])
    assert code == 0
    body = _by_path(receiver.requests, "/hook")["body"]
    assert body["language"] == "en" and body["headline"].startswith("Operations report ready")


# ----- several shops ----------------------------------------------------------------------------------
def test_two_shops_run_into_their_own_folders_with_a_rollup_and_a_failing_shop_does_not_stop_the_other(
        world: dict, tmp_path: Path) -> None:
    shop_a, shop_b = tmp_path / "tmall", tmp_path / "jd"
    shop_a.mkdir()
    shop_b.mkdir()
    params = tmp_path / "shops.yaml"
    params.write_text(f"shops:\n  - {{name: tmall, data: {shop_a}}}\n  - {{name: jd, data: {shop_b}}}\n"
                      f"  - {{name: ghost, data: {tmp_path / 'no-such-shop'}}}\n", encoding="utf-8")
    reports = tmp_path / "reports"
    with pytest.MonkeyPatch.context() as mp:
        _env(mp, world["base"], None, None, reports)
        code = cli.main(["run", *map(str, world["ok"]), "--end", "2025-12-31", "--timeout", "120",
                         "--jobs", "2", "--params", str(params)])
    assert code == 1  # one shop could not run
    for shop in ("tmall", "jd"):
        assert (reports / shop / "2025-12-31" / "index.html").is_file()
        assert (reports / shop / "latest").resolve() == (reports / shop / "2025-12-31").resolve()
        assert (reports / shop / "index.html").is_file()  # each shop's archive
    rollup = json.loads((reports / "shops" / "2025-12-31" / "rollup.json").read_text(encoding="utf-8"))
    by_shop = {r["shop"]: r for r in rollup}
    assert by_shop["tmall"]["exit_code"] == 0 and by_shop["jd"]["exit_code"] == 0
    assert by_shop["ghost"]["exit_code"] == 2 and "no-such-shop" in by_shop["ghost"]["error"]
    page = (reports / "shops" / "latest" / "index.html").read_text(encoding="utf-8")
    assert "tmall" in page and "jd" in page and "ghost" in page
    assert "成交额" in page
    # money and counts add up across shops; shares are not combined
    assert "288.4 万元" in page  # 2 × 144.2 万元
    assert "10,060" in page
    assert "比率类指标不合计" in page


# ----- the archive -------------------------------------------------------------------------------------
def _fake_run(root: Path, name: str, started: str, end: str, gmv: float) -> Path:
    run_dir = root / name
    run_dir.mkdir(parents=True)
    manifest = {"status": "succeeded", "started": started, "params": {"end": end},
                "effective_params": {"language": "zh"},
                "notebooks": [{"name": "00_overview", "title": "总览", "status": "succeeded",
                               "period": {"start": "2025-12-01", "end": end}, "headline_findings": []}]}
    (run_dir / "run.json").write_text(json.dumps(manifest), encoding="utf-8")
    from deliver_kit import kpi

    (run_dir / "00_overview.findings.json").write_text(json.dumps({"kpis": [kpi("gmv", gmv, "money")]}),
                                                       encoding="utf-8")
    return run_dir


def test_the_archive_lists_runs_newest_first_and_retention_never_removes_latest(tmp_path: Path) -> None:
    root = tmp_path / "reports"
    for i in range(5):
        _fake_run(root, f"2025-12-0{i + 1}", f"2025-12-0{i + 1}T02:30:00+08:00", f"2025-12-0{i + 1}", 1e6 + i * 1e5)
    (root / "latest").symlink_to("2025-12-01")  # latest points at the oldest run
    (root / "notes").mkdir()  # not a run: never touched
    page = archive.render(root)
    assert page.index("2025-12-05 02:30") < page.index("2025-12-01 02:30")
    assert "140.0 万元" in page and "成交额" in page
    removed = archive.prune(root, keep=2)
    assert sorted(p.name for p in removed) == ["2025-12-02", "2025-12-03"]
    assert sorted(p.name for p in root.iterdir()) == ["2025-12-01", "2025-12-04", "2025-12-05", "latest", "notes"]
    with pytest.raises(ParameterError):
        archive.prune(root, keep=0)
    path = archive.write_index(root)
    assert (root / "assets" / "plotly.min.js").is_file()
    assert "plotly-graph-div" in path.read_text(encoding="utf-8")  # the KPI-across-runs chart
