"""One exception hierarchy: every error a user can meet says what went wrong and what to do."""

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
