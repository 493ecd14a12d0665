"""Presentation layer: charts (plotly express style), tables and the batch report's HTML."""
