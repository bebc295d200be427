"""Command-line commands; see :mod:`symgan.__main__`."""
