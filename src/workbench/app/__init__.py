"""Application layer: the notebook contract (``setup``, sections, findings), parameters and widgets."""
