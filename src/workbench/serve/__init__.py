"""Dashboards: ``workbench serve`` (Voila) and ``workbench lab`` (JupyterLab) over the notebooks."""
