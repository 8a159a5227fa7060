"""The dataset builder (SEMANTICS §4) on Snowflake: every golden case (tests/golden/dataset) runs on
the fakesnow emulator and must give the columns and rows computed by hand — the same answer the
DuckDB store gives in tests/unit/test_dataset_golden.py. One emulated account per golden file
(module scope: the emulator is slow to start and every case of a file reads the same stream)."""

from __future__ import annotations

import pytest

from activityschema.analytics.dataset import build_dataset
from tests.backends import open_test_store
from tests.dataset_golden import load_files, table_rows
from tests.dataset_golden import events as golden_events
from tests.dataset_helpers import load

FILES = dict(load_files())
CASES = [(stem, i) for stem, data in FILES.items() for i in range(len(data["cases"]))]


@pytest.fixture(scope="module")
def snowflake_stores(tmp_path_factory):
    """One loaded fakesnow store per golden file, opened on first use."""
    opened: dict[str, object] = {}
    contexts = []
    path = tmp_path_factory.mktemp("dataset-snowflake")

    def get(stem: str):
        if stem not in opened:
            context = open_test_store("snowflake", path)
            opened[stem] = context.__enter__()
            contexts.append(context)
            load(opened[stem], golden_events(FILES[stem]))
        return opened[stem]

    yield get
    for context in reversed(contexts):
        context.__exit__(None, None, None)


@pytest.mark.parametrize(("stem", "index"), CASES, ids=[f"{s}-{i}" for s, i in CASES])
def test_golden_case_on_snowflake(snowflake_stores, stem, index):
    case = FILES[stem]["cases"][index]
    result = build_dataset(snowflake_stores(stem), case["request"])
    assert result.table.column_names == case["columns"], case["description"]
    assert table_rows(result.rows()) == case["rows"], case["description"]
