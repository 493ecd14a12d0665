"""Data layer: the data model (:mod:`.schema`), the loader and its checks (:mod:`.loader`), the
derived CNY views (:mod:`.views`), the importers of platform exports and the sample shop generator.

Everything above reads a shop only through a :class:`~workbench.data.loader.Dataset`.
"""
