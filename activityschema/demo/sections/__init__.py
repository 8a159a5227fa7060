"""Sections of the ``demo`` command's report. Each module exposes ``ORDER: int`` and
``show(store, console) -> None``; later capabilities add a module here to show their headline result."""
