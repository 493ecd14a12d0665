"""Stable pseudonyms for customer identifiers: a keyed hash whose key never sits beside the data.

A buyer's identifier in an export (a Taobao nickname, a Shopify e-mail address, a phone
number used as a member id) is personal data. The importers replace it by

    c-<first 16 hex digits of SHA-256(key ":" SHA-256(key ":" normalised id))>

The nested form keeps the hash keyed without being open to length extension (the same
reason HMAC nests), and is computed inside DuckDB, so a million rows take well under a
second. The identifier is normalised first (surrounding blanks removed, lower case), so
``Jane@Example.com`` and ``jane@example.com `` are one buyer.

Where the key comes from, first match wins:

1. ``WORKBENCH_PSEUDONYM_KEY``: the key itself (a team that imports on several machines sets
   the same value everywhere, e.g. from its secret store);
2. ``WORKBENCH_PSEUDONYM_KEY_FILE``: a file holding the key;
3. ``$XDG_CONFIG_HOME/workbench/pseudonym.key`` (``~/.config/workbench/pseudonym.key``),
   created on first use with 32 random bytes (hex) and mode 0600.

The key is deliberately *not* stored in the dataset folder: identifiers such as phone numbers
are few enough to enumerate, so whoever holds data and key together could reverse the
pseudonyms. The dataset records only the key's fingerprint (a hash of a hash of it), so that an
import into the same folder with another key is refused instead of silently splitting buyers.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from workbench.errors import DataError

KEY_ENV = "WORKBENCH_PSEUDONYM_KEY"
KEY_FILE_ENV = "WORKBENCH_PSEUDONYM_KEY_FILE"
PREFIX = "c-"
DIGITS = 16


@dataclass(frozen=True)
class PseudonymKey:
    """The secret of the keyed hash and where it came from (for the import report)."""

    secret: str
    origin: str

    @property
    def fingerprint(self) -> str:
        """A short public fingerprint: tells keys apart without revealing them."""
        inner = hashlib.sha256(("workbench-key-fingerprint:" + self.secret).encode()).hexdigest()
        return hashlib.sha256(inner.encode()).hexdigest()[:12]

    def sql(self, expr: str, prefix: str = PREFIX, digits: int = DIGITS) -> str:
        """A DuckDB expression turning identifier ``expr`` into its pseudonym (NULL stays NULL).

        ``prefix`` and ``digits`` shape the result (``c-`` and 16 hex digits for buyers; the loader's
        tokens of personal columns are ``pii-`` and 12).
        """
        k = self.secret.replace("'", "''")
        norm = f"lower(trim(CAST({expr} AS VARCHAR)))"
        return (f"CASE WHEN {norm} IS NULL OR {norm} = '' THEN NULL ELSE "
                f"'{prefix}' || substr(sha256('{k}:' || sha256('{k}:' || {norm})), 1, {int(digits)}) END")

    def pseudonym(self, identifier: str, prefix: str = PREFIX, digits: int = DIGITS) -> str:
        """The pseudonym of one identifier, computed in Python (same result as :meth:`sql`)."""
        norm = identifier.strip().lower()
        inner = hashlib.sha256(f"{self.secret}:{norm}".encode()).hexdigest()
        return prefix + hashlib.sha256(f"{self.secret}:{inner}".encode()).hexdigest()[:digits]


def default_key_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "workbench" / "pseudonym.key"


def load_key() -> PseudonymKey:
    """Return the pseudonym key from the environment or the key file, creating the file once."""
    env = os.environ.get(KEY_ENV, "").strip()
    if env:
        return PseudonymKey(env, f"environment variable {KEY_ENV}")
    path = Path(os.environ[KEY_FILE_ENV]).expanduser() if os.environ.get(KEY_FILE_ENV) else default_key_file()
    if path.exists():
        secret = path.read_text(encoding="utf-8").strip()
        if not secret:
            raise DataError(f"{path}: the pseudonym key file is empty; delete it to have a new key made "
                            "(buyers then get new pseudonyms) or restore the key from a backup")
        return PseudonymKey(secret, f"key file {path}")
    if os.environ.get(KEY_FILE_ENV):
        raise DataError(f"{path}: no such pseudonym key file ({KEY_FILE_ENV}); point it at an existing key file "
                        f"or unset it to use {default_key_file()}")
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(secret + "\n")
    return PseudonymKey(secret, f"key file {path} (created now; back it up to keep pseudonyms stable)")
