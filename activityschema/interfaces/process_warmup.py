"""Getting a long-running server process ready before it takes requests.

Two costs would otherwise land on the first seconds of traffic, under the interpreter lock that
every request needs:

- **Lazy imports.** pyarrow imports pandas the first time it builds an array (the loader's first
  merge, the audit journal's first absorb): about 0.3 s of interpreter time, once. ``warm_imports``
  pays it at start-up.
- **The cyclic garbage collector.** A server holds a few hundred thousand long-lived objects
  (modules, the app, pydantic models). Every full collection walks all of them again — tens of
  milliseconds each, with every request thread waiting — although they never become garbage.
  ``settle`` collects once and ``gc.freeze()``s what is alive, so later collections only walk
  objects created since, and a young collection runs every ``YOUNG_COLLECTION_THRESHOLD``
  allocations instead of 700 (a batch of 500 events allocates thousands of containers; measured on
  ``bench_http_ingest.py``: fewer, larger young collections cost less interpreter time). Garbage
  made later is collected as before, a little later.
"""

from __future__ import annotations

import gc

YOUNG_COLLECTION_THRESHOLD = 10_000


def warm_imports() -> None:
    """Import now what the loader and the audit journal would import on first use."""
    import pyarrow as pa

    pa.array([0])  # pyarrow's first array imports pandas (its lazy pandas shim)


def settle() -> None:
    """Collect once, keep everything alive now out of future collections (``gc.freeze``), and
    collect young objects less often (see the module docstring)."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, older, oldest)
