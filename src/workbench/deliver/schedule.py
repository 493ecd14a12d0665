"""Schedules kept in git: a YAML file of named ``workbench run`` invocations with a cron time.

    workbench schedule add NAME --cron "30 2 * * *" [--tz Asia/Shanghai] [--file F] -- [run options]
    workbench schedule list | remove NAME | run-due | install [--systemd] [--print-only]

The file (default ``workbench-schedule.yaml`` in the current folder) holds only what a reviewer
should see in a pull request::

    schedules:
      nightly:
        cron: "30 2 * * *"
        timezone: Asia/Shanghai
        args: [--data, shops/tmall, --notify, wecom]

What changes at every run (the last due time run, its exit code) lives beside it in the state
folder ``.workbench-schedule.state/`` (keep it out of git), together with one lock file per
schedule. ``run-due`` is what cron or a systemd timer calls every few minutes: for each schedule
whose latest due time (in its own time zone, Asia/Shanghai unless told) has not been run yet, it
runs ``workbench run`` with the stored options once — a run missed while the machine was off is
caught up once, not once per missed day — holding the schedule's lock, so two runs of one schedule
never overlap (a second ``run-due`` while one runs says so and skips it).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.deliver import cron as cron_mod
from workbench.errors import ParameterError

DEFAULT_FILE = "workbench-schedule.yaml"
DEFAULT_TZ = "Asia/Shanghai"
NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-_")


@dataclass
class Schedule:
    """One named schedule: its cron text, time zone and the ``workbench run`` options it runs."""

    name: str
    cron: str
    timezone: str = DEFAULT_TZ
    args: list[str] = field(default_factory=list)

    def check(self) -> None:
        if not self.name or not set(self.name) <= NAME_CHARS:
            raise ParameterError(f"schedule name {self.name!r}: use lower-case letters, digits, - and _")
        cron_mod.parse(self.cron)
        cron_mod.zone(self.timezone)
        if not isinstance(self.args, list) or not all(isinstance(a, str) for a in self.args):
            raise ParameterError(f"schedule {self.name}: args must be a list of texts")

    def due_time(self, now: dt.datetime) -> dt.datetime | None:
        """The latest fire time at or before ``now`` (in the schedule's time zone)."""
        return cron_mod.previous(cron_mod.parse(self.cron), now, cron_mod.zone(self.timezone))

    def next_time(self, now: dt.datetime) -> dt.datetime | None:
        return cron_mod.following(cron_mod.parse(self.cron), now, cron_mod.zone(self.timezone))

    def as_yaml(self) -> dict[str, Any]:
        return {"cron": self.cron, "timezone": self.timezone, "args": list(self.args)}


class Store:
    """The schedule file and its state folder."""

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = Path(path or DEFAULT_FILE).resolve()
        self.state_dir = self.path.parent / f".{self.path.stem}.state"

    # ----- the YAML file ----------------------------------------------------------------------
    def load(self) -> dict[str, Schedule]:
        import yaml

        if not self.path.exists():
            return {}
        try:
            data = yaml.safe_load(self.path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ParameterError(f"schedule file {self.path} could not be read: {exc}") from None
        entries = data.get("schedules") if isinstance(data, dict) else None
        if entries is None:
            entries = {}
        if not isinstance(entries, dict):
            raise ParameterError(f"schedule file {self.path}: 'schedules' must map names to schedules")
        out = {}
        for name, body in entries.items():
            if not isinstance(body, dict) or "cron" not in body:
                raise ParameterError(f"schedule file {self.path}: schedule {name!r} needs a 'cron' line")
            s = Schedule(str(name), str(body["cron"]), str(body.get("timezone") or DEFAULT_TZ),
                         [str(a) for a in body.get("args") or []])
            s.check()
            out[s.name] = s
        return out

    def save(self, schedules: dict[str, Schedule]) -> None:
        import yaml

        text = ("# Schedules of `workbench run` (workbench schedule add/list/remove; run by `workbench schedule run-due`).\n"
                + yaml.safe_dump({"schedules": {n: s.as_yaml() for n, s in sorted(schedules.items())}},
                                 allow_unicode=True, sort_keys=False, default_flow_style=None))
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, self.path)

    # ----- state --------------------------------------------------------------------------------
    def _state_path(self, name: str) -> Path:
        return self.state_dir / f"{name}.json"

    def state(self, name: str) -> dict[str, Any]:
        try:
            value = json.loads(self._state_path(name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return value if isinstance(value, dict) else {}

    def write_state(self, name: str, state: dict[str, Any]) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        path = self._state_path(name)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(state, ensure_ascii=False, indent=2), encoding="utf-8")
        os.replace(tmp, path)

    def lock(self, name: str) -> Any:
        """An open lock file holding an exclusive non-blocking lock, or None when another holds it."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        handle = open(self.state_dir / f"{name}.lock", "a+")  # noqa: SIM115 (closed by the caller)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return None
        return handle


# ----- operations -------------------------------------------------------------------------------
def add(store: Store, name: str, cron_text: str, args: Sequence[str], timezone: str = DEFAULT_TZ,
        now: dt.datetime | None = None, replace: bool = False,
        check: Callable[[Sequence[str]], None] | None = None) -> Schedule:
    """Add schedule ``name`` (refused when it exists, unless ``replace``); its first run is the next
    fire time after ``now``, not one already past. ``check(args)`` may refuse the run options."""
    schedules = store.load()
    if name in schedules and not replace:
        raise ParameterError(f"schedule {name!r} exists in {store.path}; remove it first or use --replace")
    args = [a for a in args if a != "--"]
    s = Schedule(name, cron_text, timezone, list(args))
    s.check()
    if check is not None:
        check(s.args)
    schedules[name] = s
    store.save(schedules)
    now = now or dt.datetime.now(dt.timezone.utc)
    due = s.due_time(now)
    store.write_state(name, {"added": now.isoformat(timespec="seconds"),
                             "last_due": due.isoformat() if due else None})
    return s


def check_run_args(parser: Any, args: Sequence[str]) -> None:
    """Refuse run options that ``workbench run`` would refuse, now rather than at 02:30.

    ``parser`` is the ``workbench`` argument parser (its ``run`` sub-command parses ``args``).
    """
    import contextlib
    import io

    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            parser.parse_args(["run", *args])
    except SystemExit:
        last = (err.getvalue().strip().splitlines() or ["unreadable options"])[-1]
        raise ParameterError(f"the run options of this schedule are refused: {last}") from None


def remove(store: Store, name: str) -> None:
    schedules = store.load()
    if name not in schedules:
        raise ParameterError(f"no schedule {name!r} in {store.path} (have: {', '.join(schedules) or 'none'})")
    del schedules[name]
    store.save(schedules)
    try:
        store._state_path(name).unlink()
    except OSError:
        pass


def listing(store: Store, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """One row per schedule: name, cron, time zone, options, next fire time, last run and its exit code."""
    now = now or dt.datetime.now(dt.timezone.utc)
    rows = []
    for name, s in sorted(store.load().items()):
        st = store.state(name)
        nxt = s.next_time(now)
        rows.append({"name": name, "cron": s.cron, "timezone": s.timezone, "args": shlex.join(s.args),
                     "next": nxt.isoformat(timespec="minutes") if nxt else None,
                     "last_run": st.get("last_started"), "last_exit": st.get("last_exit")})
    return rows


def _default_runner(args: Sequence[str], log: Path) -> int:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        return subprocess.call([sys.executable, "-m", "workbench.cli", "run", *args], stdout=out, stderr=out)


def run_due(store: Store, now: dt.datetime | None = None,
            runner: Callable[[Sequence[str], Path], int] | None = None) -> list[dict[str, Any]]:
    """Run every schedule that is due and not yet run for that due time, each under its lock.

    Returns one row per schedule: ``name``, ``action`` (``ran``, ``not-due``, ``busy``) and, when it
    ran, ``due`` and ``exit``. ``runner(args, log)`` runs ``workbench run`` (default: a subprocess
    writing to ``<state>/<name>.log``) and returns its exit code.
    """
    runner = runner or _default_runner
    now = now or dt.datetime.now(dt.timezone.utc)
    out = []
    for name, s in sorted(store.load().items()):
        due = s.due_time(now)
        handle = store.lock(name)
        if handle is None:
            out.append({"name": name, "action": "busy"})
            continue
        try:
            state = store.state(name)  # read under the lock: another run-due may just have finished
            last = state.get("last_due")
            if due is None or (last and dt.datetime.fromisoformat(last) >= due):
                out.append({"name": name, "action": "not-due"})
                continue
            state.update({"last_due": due.isoformat(), "last_started": now.isoformat(timespec="seconds"),
                          "last_exit": None})
            store.write_state(name, state)  # marked before running: a crash never runs it twice
            code = runner(list(s.args), store.state_dir / f"{name}.log")
            state.update({"last_exit": code,
                          "last_finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")})
            store.write_state(name, state)
            out.append({"name": name, "action": "ran", "due": due.isoformat(), "exit": code})
        finally:
            handle.close()
    return out


def install_text(store: Store, systemd: bool = False, every_minutes: int = 5) -> dict[str, str]:
    """What ``install`` puts in place: ``crontab`` (one line) or ``service`` and ``timer`` units.

    The crontab line and the timer call ``run-due`` every ``every_minutes`` minutes; the schedules'
    own cron times and time zones are evaluated by ``run-due``, so the system's time zone does not matter.
    """
    exe = shlex.quote(sys.executable)
    cwd = shlex.quote(str(store.path.parent))
    cmd = f"{exe} -m workbench.cli schedule run-due --file {shlex.quote(str(store.path))}"
    if not systemd:
        log = shlex.quote(str(store.state_dir / "run-due.log"))
        return {"crontab": f"*/{every_minutes} * * * * cd {cwd} && {cmd} >> {log} 2>&1  # workbench schedule"}
    service = ("[Unit]\nDescription=workbench schedules (run-due)\n\n[Service]\nType=oneshot\n"
               f"WorkingDirectory={store.path.parent}\nExecStart={cmd}\n")
    timer = ("[Unit]\nDescription=workbench schedules every few minutes\n\n[Timer]\n"
             f"OnCalendar=*:0/{every_minutes}\nPersistent=true\n\n[Install]\nWantedBy=timers.target\n")
    return {"service": service, "timer": timer}


def install(store: Store, systemd: bool = False, print_only: bool = False,
            write: Callable[[str], None] = print) -> int:
    """Print what is installed and, unless ``print_only``, install it (crontab, or user systemd units)."""
    text = install_text(store, systemd)
    if not systemd:
        line = text["crontab"]
        write(line)
        if print_only:
            return 0
        try:
            current = subprocess.run(["crontab", "-l"], capture_output=True, text=True).stdout
        except FileNotFoundError:
            raise ParameterError("no crontab command on this machine: use --systemd, or add the line above by hand") \
                from None
        kept = [ln for ln in current.splitlines() if "# workbench schedule" not in ln]
        subprocess.run(["crontab", "-"], input="\n".join([*kept, line]) + "\n", text=True, check=True)
        write("installed in the crontab of this user")
        return 0
    unit_dir = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "systemd" / "user"
    for suffix in ("service", "timer"):
        write(f"# {unit_dir / ('workbench-schedule.' + suffix)}\n{text[suffix]}")
    write("systemctl --user daemon-reload && systemctl --user enable --now workbench-schedule.timer")
    if print_only:
        return 0
    unit_dir.mkdir(parents=True, exist_ok=True)
    for suffix in ("service", "timer"):
        (unit_dir / f"workbench-schedule.{suffix}").write_text(text[suffix], encoding="utf-8")
    try:
        subprocess.run(["systemctl", "--user", "daemon-reload"], check=True)
        subprocess.run(["systemctl", "--user", "enable", "--now", "workbench-schedule.timer"], check=True)
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        raise ParameterError(f"the units are written to {unit_dir}, but systemctl failed ({exc}): "
                             "enable the timer by hand with the line above") from None
    return 0
