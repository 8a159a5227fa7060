"""``activityschema serve`` names uvicorn's fast parts (pinned dependencies) and gets its process ready
before taking requests (imports paid, long-lived objects kept out of the collector's way)."""

from __future__ import annotations

import gc
import importlib.util
import subprocess
import sys

from activityschema.interfaces.commands.serve import uvicorn_speedups
from activityschema.interfaces.process_warmup import YOUNG_COLLECTION_THRESHOLD, settle, warm_imports


def test_serve_names_httptools_and_uvloop_when_installed():
    expected = {"http": "httptools" if importlib.util.find_spec("httptools") else "h11",
                "loop": "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"}
    assert uvicorn_speedups() == expected
    assert expected == {"http": "httptools", "loop": "uvloop"}  # both are pinned dependencies


def test_warm_imports_pays_the_lazy_pandas_import_up_front():
    code = ("import sys; from activityschema.interfaces.process_warmup import warm_imports; "
            "assert 'pandas' not in sys.modules; warm_imports(); assert 'pandas' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_settle_freezes_what_is_alive_and_later_garbage_is_still_collected():
    warm_imports()
    threshold = gc.get_threshold()
    try:
        settle()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (YOUNG_COLLECTION_THRESHOLD, *threshold[1:])
        collected = []

        class Cycle:
            def __init__(self) -> None:
                self.me = self

            def __del__(self) -> None:
                collected.append(True)

        Cycle()
        gc.collect()
        assert collected == [True]
    finally:
        gc.unfreeze()  # the rest of this test process collects as usual
        gc.set_threshold(*threshold)
