"""Topic layer: one module per operations topic; a dataset and filters in, tidy frames and results out.

A topic module computes. It never draws a chart or writes a sentence (that is :mod:`workbench.present`),
and topics do not import each other.
"""
