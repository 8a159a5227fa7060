"""Golden funnel cases (tests/golden/funnels.json): every option on small hand-computed streams."""

from __future__ import annotations

import pytest

from tests.golden.cases import golden_cases
from tests.golden.check_funnel import check_funnel_case

CASES = golden_cases("funnels")


@pytest.mark.parametrize("case", [c for _, c in CASES], ids=[d[:70] for d, _ in CASES])
def test_funnel_golden(case):
    check_funnel_case(case)
