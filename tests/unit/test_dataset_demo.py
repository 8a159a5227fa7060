"""The dataset demo section and the runnable example in build_dataset's docstring."""

from __future__ import annotations

import doctest

from rich.console import Console

from activityschema.analytics.dataset import runner
from activityschema.demo.generator import write_ndjson
from activityschema.demo.sections import s20_dataset
from activityschema.ingest.importer import import_file


def test_demo_section_shows_signups_and_their_first_order(store, tmp_path):
    path = tmp_path / "demo.ndjson"
    write_ndjson(str(path), seed=7, customers=150)
    import_file(store, path)
    console = Console(record=True, width=200)
    s20_dataset.show(store, console)
    text = console.export_text()
    assert "signups ordered afterwards" in text and "query hash" in text
    assert "first_after_order_completed_ts" in text


def test_build_dataset_docstring_example_runs():
    result = doctest.testmod(runner, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 3 and result.failed == 0
