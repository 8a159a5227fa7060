"""Golden cases of the dataset builder: hand-computed outputs on small streams (tests/golden/dataset)."""

from __future__ import annotations

import pytest

from activityschema.analytics.dataset import build_dataset
from tests.dataset_golden import cases, events, table_rows
from tests.dataset_helpers import load
from tests.dataset_reference import build

CASES = cases()


@pytest.mark.parametrize(("data", "case"), [(d, c) for _, d, c in CASES], ids=[i for i, _, _ in CASES])
def test_golden_case(store, data, case):
    stored = load(store, events(data))
    result = build_dataset(store, case["request"])
    assert result.table.column_names == case["columns"], case["description"]
    assert table_rows(result.rows()) == case["rows"], case["description"]
    # the brute-force reference reads the rules the same way
    assert table_rows(build(stored, case["request"])) == case["rows"], case["description"]
