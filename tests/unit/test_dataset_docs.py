"""docs/dataset.md shows exactly what the golden tests check."""

from __future__ import annotations

from pathlib import Path

from activityschema.analytics.dataset.query import (
    AGGREGATE_WINDOWS,
    AGGREGATES,
    PICK_WINDOWS,
    PICKS,
)
from tests.dataset_golden import doc_block, load_files, stream_table

PAGE = (Path(__file__).parents[2] / "docs" / "dataset.md").read_text()


def test_every_documented_example_is_the_golden_output():
    shown = 0
    for stem, data in load_files():
        documented = [case for case in data["cases"] if case.get("doc")]
        if documented:
            assert stream_table(data) in PAGE, f"stream of {stem} is not in docs/dataset.md"
        for case in documented:
            assert doc_block(case) in PAGE, f"{stem}:{case['doc']} differs from docs/dataset.md"
            shown += 1
    assert shown >= 10


def test_every_relationship_and_aggregate_is_documented():
    for word in [*PICKS, *PICK_WINDOWS, *AGGREGATE_WINDOWS, *AGGREGATES]:
        assert f"`{word}`" in PAGE or f"{word}_" in PAGE, word
