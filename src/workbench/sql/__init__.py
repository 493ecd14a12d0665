"""SQL layer: every query over a dataset, one module per topic, returning small tidy frames.

:class:`~workbench.sql.filters.Filters` carries the period, comparison and channels; the queries
turn them into conditions. Nothing above this layer writes SQL.
"""
