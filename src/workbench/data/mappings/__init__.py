"""Packaged import mappings (YAML), read with importlib.resources."""
