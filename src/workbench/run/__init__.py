"""Batch layer: ``workbench run`` runs every notebook through papermill workers into a run folder."""
