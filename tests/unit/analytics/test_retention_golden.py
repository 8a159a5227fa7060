"""Golden retention cases (tests/golden/retention.json), each hand-computed."""

from __future__ import annotations

import pytest

from tests.golden.cases import golden_cases
from tests.golden.check_retention import check_retention_case

CASES = golden_cases("retention")


@pytest.mark.parametrize("case", [c for _, c in CASES], ids=[d[:70] for d, _ in CASES])
def test_retention_golden(case):
    check_retention_case(case)
