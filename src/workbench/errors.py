"""One exception hierarchy: every error a user can meet says what went wrong and what to do.

The command maps them to exit codes (:data:`EXIT_CODES`), so that a schedule can tell "the data
cannot be used" and "the machine is in the way" from "a notebook failed".
"""

from __future__ import annotations


class WorkbenchError(Exception):
    """Base class of every error the workbench raises on purpose."""


class DataError(WorkbenchError):
    """Raised when input data cannot be used; the message names file, column, rows and the fix."""

    def __init__(self, message: str, problems: list | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems or [])


class MissingTableError(DataError):
    """Raised when an analysis needs a table (or column) that the dataset does not hold."""

    def __init__(self, message: str, tables: list[str] | None = None, columns: list[str] | None = None) -> None:
        super().__init__(message)
        self.tables = list(tables or [])
        self.columns = list(columns or [])


class EmptyPeriodError(DataError):
    """Raised when the chosen period or filters leave no rows to analyse."""


class ParameterError(WorkbenchError):
    """Raised when a notebook parameter has an unknown name or a value of the wrong type."""


class NotebookError(WorkbenchError):
    """Raised when a notebook cannot be found or does not follow the notebook contract."""


class EnvironmentProblem(WorkbenchError):
    """Raised when the machine, not the data, stops the work: a full disk, a permission, a read-only folder.

    ``needed_bytes``, when known, is how much free space the work needs (said in the message).
    """

    def __init__(self, message: str, needed_bytes: int | None = None) -> None:
        super().__init__(message)
        self.needed_bytes = needed_bytes


#: Exit codes of the ``workbench`` command (documented in the README).
EXIT_OK = 0
EXIT_NOTEBOOK_FAILED = 1  # run: the report was written, but a notebook failed or timed out
EXIT_REFUSED = 2  # the input cannot be used: data unusable, bad parameter or notebook name; nothing run
EXIT_ENVIRONMENT = 3  # disk full, permission denied, read-only output folder
EXIT_INTERRUPTED = 130  # SIGINT (Ctrl-C); SIGTERM gives 143 and SIGHUP 129 (128 + the signal number)

EXIT_CODES = {
    EXIT_OK: "success",
    EXIT_NOTEBOOK_FAILED: "the report was written, but a notebook failed or timed out",
    EXIT_REFUSED: "refused: the data cannot be used, or a parameter or notebook name is wrong; nothing was run",
    EXIT_ENVIRONMENT: "environment problem: disk full, permission denied or read-only folder",
    5: "run: every notebook succeeded, but a PDF or a notification failed (workbench.deliver)",
    6: "run: a notebook and a delivery failed (workbench.deliver)",
    EXIT_INTERRUPTED: "interrupted (129: SIGHUP, 130: SIGINT, 143: SIGTERM)",
}


def exit_code(exc: BaseException) -> int:
    """The exit code for an exception that ends a command (see :data:`EXIT_CODES`)."""
    if isinstance(exc, EnvironmentProblem):
        return EXIT_ENVIRONMENT
    if isinstance(exc, OSError):
        return EXIT_ENVIRONMENT
    return EXIT_REFUSED


def environment_problem(exc: OSError, where: str, needed_bytes: int | None = None) -> EnvironmentProblem:
    """An :class:`EnvironmentProblem` that says what ``exc`` (an OSError while writing ``where``) means and the fix."""
    import errno
    import shutil

    code = getattr(exc, "errno", None)
    if code in (errno.ENOSPC, errno.EDQUOT):
        try:
            free = shutil.disk_usage(where).free
        except OSError:
            free = None
        need = (f"; about {_size(needed_bytes)} is needed" if needed_bytes else "")
        have = f" ({_size(free)} free)" if free is not None else ""
        return EnvironmentProblem(f"{where}: the disk is full{have}{need}; free some space or write elsewhere "
                                  "(--out DIR on another disk)", needed_bytes)
    if code in (errno.EACCES, errno.EPERM):
        return EnvironmentProblem(f"{where}: permission denied; let the user running the workbench write "
                                  "there, or choose another folder (--out DIR)")
    if code == errno.EROFS:
        return EnvironmentProblem(f"{where}: the file system is read-only; choose a writable folder (--out DIR)")
    return EnvironmentProblem(f"{where}: {exc.strerror or exc}; check the folder and the disk it is on")


def _size(n: int | None) -> str:
    if n is None:
        return "?"
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n}"
