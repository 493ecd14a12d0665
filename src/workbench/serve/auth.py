"""Who may see the dashboards: a token printed at start, or a password stored hashed outside the checkout.

``workbench serve`` on 127.0.0.1 needs no login. Bound to any other address it requires one
credential for every request (pages, static files, kernel websockets): either the token link
it prints at start (``http://host:port/?token=…``, a new random token per start unless
``$WORKBENCH_SERVE_TOKEN`` is set) or the password set with ``workbench serve passwd``. A
valid credential is exchanged for a signed, HttpOnly session cookie (:data:`COOKIE`).

The password is kept as a salted scrypt hash (``hashlib.scrypt``, n=2**14, r=8, p=1) in
:func:`password_file`: ``$WORKBENCH_HOME/serve-password.json``, else
``~/.config/workbench/serve-password.json``; the file is written with mode 0600 and never
holds the password itself.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError

#: The session cookie set after a successful login (signed with the server's secret).
COOKIE = "workbench-session"

#: Environment variable that fixes the start token (otherwise a new random one per start).
TOKEN_ENV = "WORKBENCH_SERVE_TOKEN"

#: scrypt cost parameters (about 16 MB and 50 ms per check on the development machine).
SCRYPT = {"n": 2**14, "r": 8, "p": 1}

#: Shortest password ``workbench serve passwd`` accepts.
MIN_PASSWORD = 8


def config_home() -> Path:
    """The workbench's per-user folder: ``$WORKBENCH_HOME``, else ``~/.config/workbench``."""
    env = os.environ.get("WORKBENCH_HOME")
    return Path(env).expanduser() if env else Path.home() / ".config" / "workbench"


def password_file() -> Path:
    """Where the dashboards' password hash is stored (see the module's doc)."""
    return config_home() / "serve-password.json"


def hash_password(password: str, salt: bytes | None = None) -> dict[str, Any]:
    """A record of ``password`` hashed with scrypt and a random 16-byte salt (JSON-ready; no password in it)."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, dklen=32, **SCRYPT)
    return {"algorithm": "scrypt", **SCRYPT, "salt": salt.hex(), "hash": digest.hex()}


def verify_password(password: str, record: dict[str, Any]) -> bool:
    """Whether ``password`` matches a record made by :func:`hash_password` (constant-time comparison)."""
    if record.get("algorithm") != "scrypt":
        return False
    try:
        salt = bytes.fromhex(record["salt"])
        expected = bytes.fromhex(record["hash"])
        digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, dklen=len(expected),
                                n=int(record["n"]), r=int(record["r"]), p=int(record["p"]))
    except (KeyError, ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, expected)


def set_password(password: str, path: Path | None = None) -> Path:
    """Store the hash of ``password`` in ``path`` (default :func:`password_file`), mode 0600; the path.

    Raises :class:`WorkbenchError` when the password is shorter than :data:`MIN_PASSWORD`.
    """
    if len(password) < MIN_PASSWORD:
        raise WorkbenchError(f"the password must have at least {MIN_PASSWORD} characters")
    path = path or password_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(hash_password(password), out)
    os.replace(tmp, path)
    return path


def load_password(path: Path | None = None) -> dict[str, Any] | None:
    """The stored password record, or None when none was set; :class:`WorkbenchError` when unreadable."""
    path = path or password_file()
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise WorkbenchError(f"the password file {path} cannot be read ({exc}); set it again with "
                             "`workbench serve passwd`") from None
    if not isinstance(record, dict) or record.get("algorithm") != "scrypt":
        raise WorkbenchError(f"the password file {path} is not one `workbench serve passwd` wrote; set it again")
    return record


@dataclass
class Credentials:
    """What a request must present when login is required: the start token or the stored password.

    ``required`` is False on 127.0.0.1 (then everything is let through). ``secret`` signs the
    session cookie (random per start).
    """

    required: bool
    token: str = field(default_factory=lambda: os.environ.get(TOKEN_ENV) or secrets.token_urlsafe(24))
    password: dict[str, Any] | None = None
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    def check_token(self, token: str | None) -> bool:
        """Whether ``token`` is the start token (constant-time)."""
        return bool(token) and hmac.compare_digest(str(token).encode(), self.token.encode())

    def check_password(self, password: str | None) -> bool:
        """Whether ``password`` matches the stored hash (False when no password was set)."""
        return bool(password) and self.password is not None and verify_password(str(password), self.password)
