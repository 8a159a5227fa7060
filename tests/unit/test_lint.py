"""The activity-name lint gives the spec's naming conventions as advice, with stable codes."""

from __future__ import annotations

import dataclasses
import doctest
import importlib

import pytest

from activityschema.schema.lint import (
    ACTIVITY_NAME_LENGTH_LIMIT,
    PART_LENGTH_LIMIT,
    STANDARD_VERBS,
    LintFinding,
    lint_activities,
    lint_activity,
    suggest_snake_case,
)

SPEC_EXAMPLES = [
    "claude_session_start",
    "claude_tool_call",
    "claude_error_encountered",
    "payment_process_failed",
    "user_profile_updated",
    "email_campaign_sent",
    "user_signup",
    "payment_processed",
]
ALL_CODES = {
    "not_snake_case",
    "single_word",
    "nonstandard_verb",
    "past_tense_verb",
    "plural_noun",
    "pii_in_name",
    "too_long_part",
}


def codes(name: str) -> list[str]:
    return [finding.code for finding in lint_activity(name)]


def finding(name: str, code: str) -> LintFinding:
    return next(f for f in lint_activity(name) if f.code == code)


@pytest.mark.parametrize("name", SPEC_EXAMPLES)
def test_spec_examples_draw_no_error(name):
    assert [f for f in lint_activity(name) if f.severity == "error"] == []


@pytest.mark.parametrize("name", SPEC_EXAMPLES)
def test_spec_examples_draw_no_finding_at_all(name):
    assert lint_activity(name) == []


@pytest.mark.parametrize(
    "name",
    ["User_Signup", "user-signup", "user__signup", "_user_signup", "user_signup_", "1user_signup",
     "user signup", "", "user_" + "a" * ACTIVITY_NAME_LENGTH_LIMIT],
)  # fmt: skip
def test_not_snake_case_flags_what_ingest_rejects(name):
    assert finding(name, "not_snake_case").severity == "error"


@pytest.mark.parametrize(
    "name", ["user_signup", "a1_b2", "x_" + "y" * (ACTIVITY_NAME_LENGTH_LIMIT - 2)]
)
def test_not_snake_case_passes_valid_names(name):
    assert "not_snake_case" not in codes(name)


def test_not_snake_case_suggests_a_fix():
    assert "Try 'user_signed_up'" in finding("UserSigned-Up", "not_snake_case").message


def test_not_snake_case_states_the_length_limit():
    name = "user_" + "a" * ACTIVITY_NAME_LENGTH_LIMIT
    assert f"at most {ACTIVITY_NAME_LENGTH_LIMIT}" in finding(name, "not_snake_case").message


@pytest.mark.parametrize("name", ["signup", "Signup", "", "___"])
def test_single_word_needs_verb_noun(name):
    assert finding(name, "single_word").severity == "error"
    assert "not_snake_case" in codes(name)


@pytest.mark.parametrize("name", ["user_signup", "UserSignup", "user signup"])
def test_single_word_passes_two_words(name):
    assert "single_word" not in codes(name)


@pytest.mark.parametrize("name", ["widget_frobnicate", "page_hello", "claude_thing_happen"])
def test_nonstandard_verb_warns_without_a_known_verb(name):
    found = finding(name, "nonstandard_verb")
    assert found.severity == "warning"
    assert ", ".join(STANDARD_VERBS) in found.message


@pytest.mark.parametrize(
    "name",
    ["order_acknowledge", "order_acknowledged", "payment_retried", "invoice_paid", "email_sent",
     "user_logged_in", "user_login", "report_download", "subscription_cancelled", "order_bought"],
)  # fmt: skip
def test_nonstandard_verb_accepts_standard_common_and_past_forms(name):
    assert "nonstandard_verb" not in codes(name)


@pytest.mark.parametrize(
    ("name", "present"),
    [("user_started_session", "start"), ("claude_sent_email", "send"), ("x_retried_job", "retry")],
)
def test_past_tense_verb_in_verb_slot_is_info(name, present):
    found = finding(name, "past_tense_verb")
    assert found.severity == "info"
    assert f"'{present}'" in found.message


@pytest.mark.parametrize(
    "name", ["payment_process_failed", "user_profile_updated", "payment_processed", "user_start_x"]
)
def test_past_tense_verb_as_modifier_is_fine(name):
    assert "past_tense_verb" not in codes(name)


@pytest.mark.parametrize(
    ("name", "singular"),
    [("users_signup", "user"), ("categories_view", "category"), ("boxes_view", "box"),
     ("matches_view", "match"), ("addresses_update", "address"), ("courses_view", "course")],
)  # fmt: skip
def test_plural_noun_warns_with_the_singular(name, singular):
    found = finding(name, "plural_noun")
    assert found.severity == "warning"
    assert f"-> '{singular}'" in found.message


@pytest.mark.parametrize(
    "name",
    ["address_update", "status_update", "bonus_send", "analysis_complete", "settings_update",
     "analytics_report_view", "sms_send", "payment_process", "user_views"],
)  # fmt: skip
def test_plural_noun_passes_singular_and_allow_listed_words(name):
    assert "plural_noun" not in codes(name)


@pytest.mark.parametrize(
    "name",
    ["user_john@example.com_login", "call_555_123_4567", "sms_send_5551234567",
     "order_123456_create", "user_550e8400-e29b-41d4-a716-446655440000_view",
     "user_550e8400e29b41d4a716446655440000_view", "session_deadbeef00ff_start",
     "Call+1 (555) 123-4567"],
)  # fmt: skip
def test_pii_in_name_is_an_error(name):
    assert finding(name, "pii_in_name").severity == "error"


@pytest.mark.parametrize(
    "name",
    ["claude_3_5_call", "order_12345_create", "v2_report_view", "page_404_view",
     "user_at_home_view", "effaced_deadbeefcafe_view", "step_1_2_3_complete"],
)  # fmt: skip
def test_pii_in_name_passes_short_numbers_and_plain_words(name):
    assert "pii_in_name" not in codes(name)


def test_too_long_part_warns():
    name = "user_" + "a" * (PART_LENGTH_LIMIT + 1) + "_view"
    assert finding(name, "too_long_part").severity == "warning"


def test_too_long_part_passes_at_the_limit():
    assert "too_long_part" not in codes("user_" + "a" * PART_LENGTH_LIMIT + "_view")


def test_part_checks_skip_names_that_do_not_match_the_pattern():
    assert codes("Users_Started_Widgets") == ["not_snake_case"]


def test_findings_come_in_table_order_one_per_code():
    found = codes("users_" + "x" * (PART_LENGTH_LIMIT + 1) + "_1234567_started_session")
    assert found == ["past_tense_verb", "plural_noun", "pii_in_name", "too_long_part"]


def test_every_code_is_exercised_and_severities_are_known():
    names = ["signup", "widget_frobnicate", "users_started_session", "order_123456_create",
             "user_" + "a" * (PART_LENGTH_LIMIT + 1) + "_view"]  # fmt: skip
    findings = [f for name in names for f in lint_activity(name)]
    assert {f.code for f in findings} == ALL_CODES
    assert {f.severity for f in findings} <= {"error", "warning", "info"}


def test_lint_finding_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        lint_activity("signup")[0].code = "other"  # type: ignore[misc]


def test_lint_activities_maps_every_distinct_name():
    result = lint_activities(iter(["user_signup", "signup", "user_signup"]))
    assert list(result) == ["user_signup", "signup"]
    assert result["user_signup"] == []
    assert [f.code for f in result["signup"]] == ["not_snake_case", "single_word"]


def test_lint_is_deterministic():
    name = "users_started_session_5551234567"
    assert lint_activity(name) == lint_activity(name)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("UserSignedUp", "user_signed_up"), ("user signed-up!", "user_signed_up"), ("__x__", "x")],
)
def test_suggest_snake_case(name, expected):
    assert suggest_snake_case(name) == expected


def test_module_docstring_examples_run():
    module = importlib.import_module("activityschema.schema.lint")
    assert doctest.testmod(module).failed == 0
