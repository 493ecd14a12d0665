"""Text: the message catalogue of both languages, number formatting per locale, and the page registry.

It sits under every layer (as ``errors`` does), so a result can give its own reading.
"""
