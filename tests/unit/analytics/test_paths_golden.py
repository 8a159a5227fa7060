"""Golden paths, journey and recent-activity cases (tests/golden/paths.json), each hand-computed."""

from __future__ import annotations

import pytest

from tests.golden.cases import golden_cases
from tests.golden.check_paths import check_paths_case

CASES = golden_cases("paths")


@pytest.mark.parametrize("case", [c for _, c in CASES], ids=[d[:70] for d, _ in CASES])
def test_paths_golden(case):
    check_paths_case(case)
