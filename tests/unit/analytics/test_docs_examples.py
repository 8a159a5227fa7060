"""Every worked example in docs/funnels.md, docs/retention.md and docs/paths.md runs as a test."""

from __future__ import annotations

import pytest

from tests.golden.cases import doc_examples
from tests.golden.check_funnel import check_funnel_case
from tests.golden.check_paths import check_paths_case
from tests.golden.check_retention import check_retention_case

CHECKS = {"funnel": check_funnel_case, "retention": check_retention_case,
          "paths": check_paths_case, "journey": check_paths_case, "recent": check_paths_case}
PAGES = ("funnels.md", "retention.md", "paths.md")
EXAMPLES = [(f"{page}:{name}", case) for page in PAGES for name, case in doc_examples(page)]


def test_every_page_has_examples():
    assert {name.split(":")[0] for name, _ in EXAMPLES} == set(PAGES)


@pytest.mark.parametrize("case", [c for _, c in EXAMPLES], ids=[n for n, _ in EXAMPLES])
def test_docs_example(case):
    CHECKS[case["kind"]](case)
