"""Naming advice for activity names: the spec's naming conventions, as findings, never a reject.

The spec's format is ``[namespace_]verb_noun[_modifier]``: lowercase, underscore-separated, present
tense verbs, singular nouns, no PII. Only the first rule is enforced at ingest (``not_snake_case``
mirrors it); everything else is advice. Each check has a stable code:

==================  ========  ==================================================================
code                severity  fires when
==================  ========  ==================================================================
not_snake_case      error     the name fails ``^[a-z][a-z0-9]*(_[a-z0-9]+)+$`` or is over 100
                              characters (ingest rejects it too)
single_word         error     fewer than two words (read as snake_case: ``UserSignup`` has two):
                              at least verb_noun is needed (comes with ``not_snake_case``)
nonstandard_verb    warning   no part is a known verb (``STANDARD_VERBS`` or ``COMMON_VERBS``) or
                              the past participle of one (``processed``, ``sent``)
past_tense_verb     info      the second-to-last part, the verb slot of ``verb_noun``, is a past
                              participle (``user_started_session``); a past participle as the
                              last part is a modifier (``payment_process_failed``) and is fine
plural_noun         warning   a non-verb part of 4+ characters ends in ``s`` (not ``ss``, ``us``,
                              ``is``), is not in ``NOT_PLURAL`` and its singular is not a verb
pii_in_name         error     an email, a phone-like run of 7+ digits (separators allowed), 6+
                              consecutive digits, a UUID, or a 12+ hex run mixing digits and
                              letters
too_long_part       warning   a part is over ``PART_LENGTH_LIMIT`` characters
==================  ========  ==================================================================

The part checks (``nonstandard_verb``, ``past_tense_verb``, ``plural_noun``, ``too_long_part``) run
only on names that match the pattern, since other names have no reliable parts. Findings come in the
order of the table, at most one per code.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "ACTIVITY_NAME_LENGTH_LIMIT",
    "COMMON_VERBS",
    "NOT_PLURAL",
    "PART_LENGTH_LIMIT",
    "PAST_FORMS",
    "STANDARD_VERBS",
    "VERB_FORMS",
    "LintFinding",
    "lint_activities",
    "lint_activity",
    "suggest_snake_case",
]

Severity = Literal["error", "warning", "info"]

ACTIVITY_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")
ACTIVITY_NAME_LENGTH_LIMIT = 100
PART_LENGTH_LIMIT = 30
PLURAL_MIN_LENGTH = 4

# fmt: off
STANDARD_VERBS = (
    "start", "end", "complete", "create", "update", "delete", "view", "click", "submit",
    "process", "fail", "retry", "send", "receive", "acknowledge",
)
"""The spec's "Standard Verbs" list."""

COMMON_VERBS = (
    "call", "log", "sign", "buy", "visit", "open", "close", "pay", "verify", "encounter", "load",
    "search", "add", "remove", "login", "logout", "signup", "subscribe", "cancel", "churn",
    "refund", "purchase", "invite", "share", "download", "upload",
)
"""Everyday verbs accepted as well, so common names do not draw a ``nonstandard_verb`` warning."""

IRREGULAR_PAST: dict[str, tuple[str, ...]] = {
    "send": ("sent",),
    "pay": ("paid",),
    "buy": ("bought",),
    "log": ("logged",),
    "submit": ("submitted",),
    "cancel": ("canceled", "cancelled"),
    "login": (),
    "logout": (),
    "signup": (),
}
"""Past participles the regular rule (``+ed``, ``+d``, ``y -> ied``) misses; none for compounds."""

NOT_PLURAL = frozenset(
    {"status", "analytics", "settings", "news", "series", "species", "canvas", "alias", "atlas",
     "chaos", "lens", "always", "https", "sales", "ios", "aws", "sms", "gps", "saas"}
)
"""Parts that end in ``s`` but are not plurals to fix."""
# fmt: on

_SINGULAR_ENDINGS = ("ss", "us", "is")
_EMAIL = re.compile(r"[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}", re.IGNORECASE)
_PHONE = re.compile(r"\+?\d(?:[\s._\-()]*\d){6,}")
_DIGIT_RUN = re.compile(r"\d{6,}")
_UUID = re.compile(r"[0-9a-f]{8}([-_]?[0-9a-f]{4}){3}[-_]?[0-9a-f]{12}", re.IGNORECASE)
_HEX_RUN = re.compile(r"[0-9a-f]{12,}", re.IGNORECASE)
_PII_PATTERNS = (
    ("an email address", _EMAIL),
    ("a phone-number-like digit sequence", _PHONE),
    ("a run of 6+ digits", _DIGIT_RUN),
    ("a UUID", _UUID),
)


@dataclass(frozen=True)
class LintFinding:
    """One piece of naming advice: a stable ``code``, a ``severity`` and a readable ``message``."""

    code: str
    severity: Severity
    message: str


Check = Callable[[str, list[str] | None], LintFinding | None]
"""A check maps a name and its parts (None unless the name matches) to one finding or None."""


def lint_activity(name: str) -> list[LintFinding]:
    """Return the naming findings for one activity name, in the order of the module table.

    Args:
        name: an activity name, valid or not.

    Returns:
        The findings; an empty list means the name follows every convention checked.

    Example:
        >>> [f.code for f in lint_activity("payment_processed")]
        []
        >>> [f.code for f in lint_activity("users_started_session")]
        ['past_tense_verb', 'plural_noun']
    """
    parts = name.split("_") if ACTIVITY_NAME_PATTERN.fullmatch(name) else None
    findings = (check(name, parts) for check in CHECKS)
    return [finding for finding in findings if finding is not None]


def lint_activities(names: Iterable[str]) -> dict[str, list[LintFinding]]:
    """Lint many names; every distinct name is a key, mapped to its (possibly empty) findings.

    Example:
        >>> {n: len(f) for n, f in lint_activities(["user_signup", "Signup"]).items()}
        {'user_signup': 0, 'Signup': 2}
    """
    return {name: lint_activity(name) for name in dict.fromkeys(names)}


def _verb_forms() -> dict[str, str]:
    """Map every accepted verb form (base and past participle) to its base verb."""
    forms: dict[str, str] = {}
    for verb in STANDARD_VERBS + COMMON_VERBS:
        for form in (verb, *_past_participles(verb)):
            forms.setdefault(form, verb)
    return forms


def _past_participles(verb: str) -> tuple[str, ...]:
    """Return the past participle(s) of a known verb (``process`` -> ``processed``)."""
    if verb in IRREGULAR_PAST:
        return IRREGULAR_PAST[verb]
    if verb.endswith("e"):
        return (verb + "d",)
    if verb.endswith("y") and verb[-2:-1] not in "aeiou":
        return (verb[:-1] + "ied",)
    return (verb + "ed",)


VERB_FORMS = _verb_forms()
"""Every accepted verb form (base or past participle) mapped to its base verb."""
PAST_FORMS = frozenset(form for form in VERB_FORMS if form not in VERB_FORMS.values())


def _check_snake_case(name: str, parts: list[str] | None) -> LintFinding | None:
    if len(name) > ACTIVITY_NAME_LENGTH_LIMIT:
        reason = f"is {len(name)} characters; at most {ACTIVITY_NAME_LENGTH_LIMIT} are allowed"
    elif parts is None:
        reason = "must be lowercase letters and digits in underscore-separated parts"
    else:
        return None
    suggestion = suggest_snake_case(name)
    fixable = parts is None and ACTIVITY_NAME_PATTERN.fullmatch(suggestion) is not None
    hint = f" Try '{suggestion}'." if fixable else ""
    message = f"Activity name '{name}' {reason} (ingest rejects it).{hint}"
    return LintFinding("not_snake_case", "error", message)


def _check_single_word(name: str, parts: list[str] | None) -> LintFinding | None:
    if len([part for part in suggest_snake_case(name).split("_") if part]) >= 2:
        return None
    message = f"Activity name '{name}' has one word; use at least verb_noun, e.g. 'user_signup'."
    return LintFinding("single_word", "error", message)


def _check_verb(name: str, parts: list[str] | None) -> LintFinding | None:
    if parts is None or any(part in VERB_FORMS for part in parts):
        return None
    message = (
        f"Activity name '{name}' has no standard verb; the spec's are "
        f"{', '.join(STANDARD_VERBS)}."
    )
    return LintFinding("nonstandard_verb", "warning", message)


def _check_past_tense(name: str, parts: list[str] | None) -> LintFinding | None:
    if parts is None or parts[-2] not in PAST_FORMS:
        return None
    verb = parts[-2]
    message = (
        f"Activity name '{name}' uses the past tense '{verb}' as its verb; the spec asks for "
        f"present tense, e.g. '{VERB_FORMS[verb]}'."
    )
    return LintFinding("past_tense_verb", "info", message)


def _check_plural(name: str, parts: list[str] | None) -> LintFinding | None:
    plurals = [part for part in parts or [] if _singular(part) is not None]
    if not plurals:
        return None
    fixes = ", ".join(f"'{part}' -> '{_singular(part)}'" for part in plurals)
    message = f"Activity name '{name}' has plural nouns; the spec asks for singular: {fixes}."
    return LintFinding("plural_noun", "warning", message)


def _check_pii(name: str, parts: list[str] | None) -> LintFinding | None:
    kinds = [kind for kind, pattern in _PII_PATTERNS if pattern.search(name)]
    if any(_is_hex_identifier(run) for run in _HEX_RUN.findall(name)):
        kinds.append("a long hex identifier")
    if not kinds:
        return None
    message = (
        f"Activity name '{name}' looks like it holds {', '.join(kinds)}; keep PII and ids out of "
        "names and put them in customer or feature_json."
    )
    return LintFinding("pii_in_name", "error", message)


def _check_part_length(name: str, parts: list[str] | None) -> LintFinding | None:
    long_parts = [part for part in parts or [] if len(part) > PART_LENGTH_LIMIT]
    if not long_parts:
        return None
    message = (
        f"Activity name '{name}' has parts over {PART_LENGTH_LIMIT} characters "
        f"({', '.join(long_parts)}); split them into words."
    )
    return LintFinding("too_long_part", "warning", message)


CHECKS: tuple[Check, ...] = (
    _check_snake_case,
    _check_single_word,
    _check_verb,
    _check_past_tense,
    _check_plural,
    _check_pii,
    _check_part_length,
)
"""Every check, in report order; each returns at most one finding."""


def _singular(part: str) -> str | None:
    """Return the singular of a plausible plural noun part, or None when it is not one."""
    if len(part) < PLURAL_MIN_LENGTH or not part.endswith("s") or part.endswith(_SINGULAR_ENDINGS):
        return None
    if part in NOT_PLURAL or part in VERB_FORMS:
        return None
    if part.endswith("ies"):
        singular = part[:-3] + "y"
    elif part.endswith(("sses", "xes", "ches", "shes")):
        singular = part[:-2]
    else:
        singular = part[:-1]
    return None if singular in VERB_FORMS else singular


def _is_hex_identifier(run: str) -> bool:
    """A hex run is an identifier when it mixes digits and letters (``deadbeef00ff``)."""
    return any(char.isdigit() for char in run) and any(char.isalpha() for char in run)


def suggest_snake_case(name: str) -> str:
    """Return a snake_case spelling of a name (``"User Signed-Up"`` -> ``"user_signed_up"``)."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return re.sub(r"[^a-z0-9]+", "_", spaced.lower()).strip("_")
