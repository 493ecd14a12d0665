"""Schedules (workbench.deliver.schedule, workbench.deliver.cron): the YAML file, cron times in an
explicit time zone, run-due exactly once under a lock, catch-up of a missed run, what install prints."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

import pytest
import yaml

from workbench import cli
from workbench.deliver import cron
from workbench.deliver import schedule as sched
from workbench.errors import ParameterError

SHANGHAI = cron.zone("Asia/Shanghai")
UTC = dt.timezone.utc


def at(text: str, tz: dt.tzinfo = SHANGHAI) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=tz)


@pytest.mark.parametrize(("expr", "now", "expected"), [
    ("30 2 * * *", "2026-12-01 10:00", "2026-12-01 02:30"),
    ("30 2 * * *", "2026-12-01 02:29", "2026-11-30 02:30"),
    ("30 2 * * *", "2026-12-01 02:30", "2026-12-01 02:30"),
    ("*/15 9-18 * * mon-fri", "2026-12-05 12:00", "2026-12-04 18:45"),  # Saturday → Friday's last
    ("0 8 1 * *", "2026-12-15 00:00", "2026-12-01 08:00"),
    ("0 8 1,15 * *", "2026-12-15 09:00", "2026-12-15 08:00"),
    ("0 0 13 * 5", "2026-12-12 00:00", "2026-12-11 00:00"),  # the 13th OR a Friday (Vixie cron)
    ("@daily", "2026-12-01 10:00", "2026-12-01 00:00"),
    ("0 9 * * 7", "2026-12-01 10:00", "2026-11-29 09:00"),  # 7 is Sunday
])
def test_previous_fire_time(expr: str, now: str, expected: str) -> None:
    assert cron.previous(cron.parse(expr), at(now), SHANGHAI) == at(expected)


def test_the_time_zone_is_the_schedules_not_the_machines() -> None:
    # 02:30 in Shanghai is 18:30 UTC the day before
    got = cron.previous(cron.parse("30 2 * * *"), at("2026-12-01 00:00", UTC), SHANGHAI)
    assert got.astimezone(UTC) == at("2026-11-30 18:30", UTC)


def test_a_local_time_skipped_by_daylight_saving_is_not_a_fire_time() -> None:
    berlin = cron.zone("Europe/Berlin")  # 2026-03-29 02:00 → 03:00
    got = cron.previous(cron.parse("30 2 * * *"), at("2026-03-29 12:00", berlin), berlin)
    assert got == at("2026-03-28 02:30", berlin)


@pytest.mark.parametrize(("expr", "words"), [
    ("61 2 * * *", "outside 0-59"), ("30 2 * *", "five fields"), ("x 2 * * *", "not a number"),
    ("5-1 2 * * *", "backwards"), ("*/0 * * * *", "positive"),
])
def test_bad_cron_texts_are_refused_with_the_field_named(expr: str, words: str) -> None:
    with pytest.raises(ParameterError, match=words):
        cron.parse(expr)


def test_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ParameterError, match="IANA"):
        cron.zone("China/Beijing")


def test_the_yaml_file_round_trips_and_the_command_adds_lists_and_removes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "workbench-schedule.yaml"
    assert cli.main(["schedule", "--file", str(file), "add", "nightly", "--cron", "30 2 * * *", "--",
                     "--data", "shops/tmall", "--notify", "wecom", "--pdf"]) == 0
    assert cli.main(["schedule", "--file", str(file), "add", "weekly", "--cron", "0 8 * * mon",
                     "--tz", "Asia/Hong_Kong"]) == 0
    loaded = yaml.safe_load(file.read_text(encoding="utf-8"))
    assert loaded["schedules"]["nightly"] == {"cron": "30 2 * * *", "timezone": "Asia/Shanghai",
                                              "args": ["--data", "shops/tmall", "--notify", "wecom", "--pdf"]}
    store = sched.Store(file)
    assert store.load()["weekly"].timezone == "Asia/Hong_Kong"
    sched.Store(file).save(store.load())  # saving what was loaded changes nothing
    assert yaml.safe_load(file.read_text(encoding="utf-8")) == loaded
    capsys.readouterr()
    assert cli.main(["schedule", "--file", str(file), "list"]) == 0
    listed = capsys.readouterr().out
    assert "nightly: 30 2 * * * (Asia/Shanghai)" in listed and "not run yet" in listed
    assert cli.main(["schedule", "--file", str(file), "add", "nightly", "--cron", "0 3 * * *"]) == 2  # exists
    assert cli.main(["schedule", "--file", str(file), "add", "bad", "--cron", "0 3 * * *", "--", "--bogus"]) == 2
    assert "refused" in capsys.readouterr().err
    assert cli.main(["schedule", "--file", str(file), "remove", "weekly"]) == 0
    assert list(sched.Store(file).load()) == ["nightly"]


def test_install_prints_the_crontab_line_and_the_systemd_units(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "s.yaml"
    assert cli.main(["schedule", "--file", str(file), "install", "--print-only"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("*/5 * * * * cd ") and f"schedule run-due --file {file}" in line
    assert cli.main(["schedule", "--file", str(file), "install", "--systemd", "--print-only"]) == 0
    units = capsys.readouterr().out
    assert "OnCalendar=*:0/5" in units and "Persistent=true" in units and "ExecStart=" in units


def test_run_due_runs_a_due_schedule_exactly_once_and_catches_up_a_missed_run_once(tmp_path: Path) -> None:
    store = sched.Store(tmp_path / "s.yaml")
    sched.add(store, "nightly", "30 2 * * *", ["--data", "x"], now=at("2026-12-01 10:00"))
    ran: list[list[str]] = []

    def runner(args: list[str], log: Path) -> int:
        ran.append(list(args))
        return 0

    # added at 10:00: the 02:30 of that day is not run (it was before the schedule existed)
    assert [r["action"] for r in sched.run_due(store, at("2026-12-01 23:00"), runner)] == ["not-due"]
    assert [r["action"] for r in sched.run_due(store, at("2026-12-02 02:31"), runner)] == ["ran"]
    assert [r["action"] for r in sched.run_due(store, at("2026-12-02 03:00"), runner)] == ["not-due"]
    # the machine was off for three nights: one catch-up run, for the latest due time
    [row] = sched.run_due(store, at("2026-12-05 09:00"), runner)
    assert row["action"] == "ran" and row["due"].startswith("2026-12-05T02:30")
    assert [r["action"] for r in sched.run_due(store, at("2026-12-05 09:05"), runner)] == ["not-due"]
    assert ran == [["--data", "x"], ["--data", "x"]]
    assert store.state("nightly")["last_exit"] == 0


def test_two_run_due_at_once_never_overlap(tmp_path: Path) -> None:
    store = sched.Store(tmp_path / "s.yaml")
    sched.add(store, "nightly", "30 2 * * *", [], now=at("2026-12-01 01:00"))
    started = threading.Event()
    release = threading.Event()
    calls = []

    def slow(args: list[str], log: Path) -> int:
        calls.append(time.monotonic())
        started.set()
        release.wait(10)
        return 0

    now = at("2026-12-01 02:31")
    results: list[list[dict]] = []
    first = threading.Thread(target=lambda: results.append(sched.run_due(store, now, slow)))
    first.start()
    assert started.wait(10)
    second = sched.run_due(store, now, slow)  # while the first still runs
    release.set()
    first.join(10)
    assert [r["action"] for r in second] == ["busy"]
    assert [r["action"] for r in results[0]] == ["ran"]
    assert len(calls) == 1
    assert [r["action"] for r in sched.run_due(store, now, slow)] == ["not-due"]
