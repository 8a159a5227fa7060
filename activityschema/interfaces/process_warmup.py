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
  objects created since. Garbage made later is collected as before.
"""

from __future__ import annotations

import gc


def warm_imports() -> None:
    """Import now what the loader and the audit journal would import on first use."""
    import pyarrow as pa

    pa.array([0])  # pyarrow's first array imports pandas (its lazy pandas shim)


def settle() -> None:
    """Collect once, then keep everything alive now out of future collections (``gc.freeze``)."""
    gc.collect()
    gc.freeze()
