"""The feature mapping file: names per activity, defaults, drops, and clear errors."""

from __future__ import annotations

import pytest

from activityschema.errors import ConfigError
from activityschema.migrate import load_mapping, parse_mapping


def test_keys_fall_back_from_activity_to_all_activities_to_the_column_name(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text('features:\n  "*": {feature_1: detail}\n  visited_page: {feature_1: page, feature_3: null}\n'
                    "lineage: {_activity_source: null}\n")
    mapping = load_mapping(path)
    assert mapping.key_for("visited_page", "feature_1") == "page"
    assert mapping.key_for("order_completed", "feature_1") == "detail"
    assert mapping.key_for("order_completed", "feature_2") == "feature_2"
    assert mapping.key_for("visited_page", "feature_3") == ""  # dropped
    assert mapping.key_for("visited_page", "_activity_source") == ""
    assert mapping.key_for("visited_page", "source") == "source"
    assert load_mapping(None).key_for("x_y", "feature_2") == "feature_2"


@pytest.mark.parametrize("data, message", [
    ({"features": {"visited_page": {"feature_9": "x"}}}, "names column 'feature_9'"),
    ({"features": {"visited_page": {"feature_1": "bad key"}}}, "is not allowed"),
    ({"features": {"visited_page": {"feature_1": "source"}}}, "two columns of 'visited_page' the key 'source'"),
    ({"features": {"a_b": {"feature_1": "x", "feature_2": "x"}}}, "the key 'x'"),
    ({"columns": {}}, "has the keys 'features' and 'lineage'"),
    ({"features": {"a_b": ["feature_1"]}}, "must be an object"),
])
def test_mapping_errors_say_what_is_allowed(data, message):
    with pytest.raises(ConfigError, match=message):
        parse_mapping(data)


def test_unreadable_mapping_files(tmp_path):
    with pytest.raises(ConfigError, match="Cannot read the mapping file"):
        load_mapping(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_mapping(bad)
