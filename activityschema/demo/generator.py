"""Deterministic generator of realistic ActivitySchema v2.0 event streams.

``generate_events`` yields plain dicts with exactly the eight spec fields. ``write_ndjson`` writes
the same records as NDJSON, fast: it splices JSON text from precomputed pieces instead of calling
``json.dumps`` per record, and a test pins each line to ``json.dumps`` of the yielded dict. The
same arguments always give the same output, byte for byte: one ``random.Random(seed)`` drives
everything, activity ids included (``str(uuid.UUID(int=rng.getrandbits(128), version=4))``).

Shape of the stream:

- Records come grouped by person, each person's records in ``ts`` order (ties keep their causal
  order). The stream is not globally time-ordered; the system actor comes first.
- Every ``ts`` lies strictly inside ``(start, start + days)``, with millisecond precision,
  formatted ``2026-01-05T14:30:00.123Z``. ``start`` is naive UTC (an aware one is converted).
- ``customers`` is the number of people (after identity stitching, one actor each, plus the system
  actor). With ``events`` given, people are generated until exactly ``events`` records were
  produced (the last journey is cut short) and ``customers`` is ignored.

What makes it realistic (every rate is a module constant):

- Anonymous visits, later identified. Every person starts with sessions of ``visited_page`` and
  ``viewed_product`` carrying only ``anonymous_customer_id`` (``anon_<16 hex>``); about 30 % never
  sign up. The others send ``signup_started`` with both ``customer`` (``cust_<n>``) and the
  anonymous id: the identity link. Later records carry the customer, in about a third of sessions
  the anonymous id too. Some sessions come from a new device: a new anonymous id browses, then
  ``user_logged_in`` carries both ids (a second link to the same customer).
- Signup funnel with drop-offs: ``signup_started`` -> ``email_verified`` -> ``profile_completed``
  reached by about 100 % / 70 % / 45 % of starters. Some people re-enter (a second
  ``signup_started`` days later), some repeat a step (a double submit, a link clicked twice).
- Sessions: ``session_started`` / ``session_ended`` (same ``session_id``) around page views,
  clicks and forms. People return over weeks with a per-person gap and a per-session churn chance,
  so weekly retention is meaningful and decays. Fewer people arrive at weekends; session hours
  follow a daily curve; the number of active people grows over the range.
- Purchases: ``order_completed`` with a positive ``revenue_impact`` and a link to the order;
  some ``order_refunded`` 1-14 days later with a negative ``revenue_impact`` (all or half) and the
  same link. Subscriptions: ``subscription_started``, ``subscription_renewed`` every 30 days,
  ``subscription_cancelled`` (churn, no revenue).
- Agent activity of developer users, with the spec's Tool Execution Pattern:
  ``claude_session_start``, ``claude_tool_call`` (tool_name, parameters.file_path, result_type
  success/error, duration_ms, tokens_used, error_message null or a string) and
  ``claude_error_encountered``.
- ``button_clicked`` and ``form_submitted`` follow the User Interaction Pattern (interaction_type,
  element_id, page_url, session_duration_ms, device_type).
- The system actor (customer ``system``) sends ``deployment_completed`` with the System Event
  Pattern (event_type, version, environment, deployment_id, rollback, duration_seconds); their
  number scales with the stream (``SYSTEM_EVENT_SHARE``), at most a few a day.
- ``consent_updated`` now and then (the cookie banner on a first visit, later changes), with
  feature_json ``{"analytics", "marketing", "do_not_sell"}`` booleans.
- Equal timestamps for one person happen: ``TIE_RATE`` of the gaps inside a session are zero.
- ``link`` on product views, orders, refunds, subscriptions and deployments.

Planted data-quality signals (only with ``plant_anomalies=True``; days count from ``start``, see
``PLANTED``): every ``button_clicked`` on day 60 fires five times (a five-fold spike);
``claude_tool_call`` stops from day 100 (agent sessions still start); from day 80
``form_submitted`` gains the key ``form_version`` and 30 % of ``claude_tool_call`` carry
``duration_ms`` as a string. A signal whose day falls outside ``days`` does not appear. Planting
changes the random draws, so the rest of a planted stream differs from the plain one.
"""

from __future__ import annotations

import json
import math
import os
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from ..errors import ConfigError

GENERATOR_VERSION = "1.0.0"

SEED_DEFAULT = 7
CUSTOMERS_DEFAULT = 1000
START_DEFAULT = datetime(2026, 1, 5)
DAYS_DEFAULT = 120

PLANTED: dict[str, dict[str, Any]] = {
    "volume_spike": {"activity": "button_clicked", "day": 60, "factor": 5},
    "activity_stopped": {"activity": "claude_tool_call", "from_day": 100},
    "new_feature_key": {"activity": "form_submitted", "from_day": 80, "key": "form_version"},
    "type_drift": {
        "activity": "claude_tool_call",
        "from_day": 80,
        "key": "duration_ms",
        "from_type": "number",
        "to_type": "string",
        "fraction": 0.3,
    },
}

# Journey rates.
NEVER_SIGNUP_RATE = 0.30
ANON_EXTRA_SESSIONS_MEAN = 0.8
VERIFY_FIRST_RATE = 0.62
REENTRY_RATE = 0.35
VERIFY_RETRY_RATE = 0.60
PROFILE_RATE = 0.643
STEP_REPEAT_RATE = 0.05
UNVERIFIED_RETURN_RATE = 0.3
BOTH_IDS_SESSION_RATE = 0.33
NEW_DEVICE_RATE = 0.08
CLAUDE_USER_RATE = 0.3
CLAUDE_SESSION_RATE = 0.45
SUBSCRIBE_RATE = 0.35
SUBSCRIPTION_CHURN_RATE = 0.12
REFUND_RATE = 0.08
ORDER_RATE = {"unverified": 0.0, "verified": 0.03, "profiled": 0.08}
SESSION_CHURN = {"unverified": 0.6, "verified": 0.25, "profiled": 0.07}
# (mean days between sessions, weight) for people who completed their profile.
RETURN_GAPS_DAYS = ((1.5, 0.25), (3.0, 0.45), (7.0, 0.30))
VERIFIED_RETURN_GAP_DAYS = 6.0
ANON_RETURN_GAP_DAYS = 2.5
WEEKEND_SKIP_RATE = 0.4

# Inside a session.
PAGES_PER_SESSION_MEAN = 3.0
PRODUCT_VIEW_RATE = 0.35
CLICK_RATE = 0.35
FORM_RATE = 0.06
CONSENT_FIRST_VISIT_RATE = 0.2
CONSENT_RATE = 0.01
TIE_RATE = 0.03
EVENT_GAP_MEAN_MS = 35_000
EVENT_GAP_MIN_MS = 300
TOOL_CALLS_MEAN = 5.0
TOOL_ERROR_RATE = 0.08
TOOL_ERROR_REPORTED_RATE = 0.5
AGENT_FAILURE_RATE = 0.02
SPIKE_REPEAT_GAP_MS = 90

# System actor.
SYSTEM_CUSTOMER = "system"
SYSTEM_EVENT_SHARE = 0.002
DEPLOYS_MAX_PER_DAY = 3
ROLLBACK_RATE = 0.04
# Used only to size the system actor when ``events`` is not given (the measured mean is ~37).
EVENTS_PER_PERSON_ESTIMATE = 37

# Output.
WRITE_CHUNK_LINES = 20_000
WRITE_BUFFER_BYTES = 1 << 20

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MINUTE_MS = 60_000
SUBSCRIPTION_PERIOD_MS = 30 * DAY_MS
_EPOCH = datetime(1970, 1, 1)
_UUID_CLEAR = ((1 << 128) - 1) ^ ((0xC000 << 48) | (0xF000 << 64))
_UUID_SET = (0x8000 << 48) | (4 << 76)

# An event in a journey: (ms after start, activity, identity index, feature JSON, revenue, link).
Event = tuple[int, str, int, str, float | None, str | None]
Identity = tuple[str | None, str | None]
Batch = tuple[list[Identity], list[Event], list[str]]
ANON, CUST, BOTH = 0, 1, 2


def _j(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _weighted(pairs: list[tuple[Any, int]]) -> list[Any]:
    return [value for value, weight in pairs for _ in range(weight)]


def _template(obj: dict[str, Any], holes: dict[str, str]) -> str:
    """JSON text of ``obj`` with each key in ``holes`` rendered as a %-format placeholder."""
    marked = {k: f"@@{k}@@" if k in holes else v for k, v in obj.items()}
    text = _j(marked).replace("%", "%%")
    for key, hole in holes.items():
        text = text.replace(f'"@@{key}@@"', hole)
    return text


# Vocabulary. Every string is plain ASCII without quotes or backslashes, so it can be spliced into
# JSON text as is; the templates are built with json.dumps all the same.
DEVICES = _weighted([("desktop", 11), ("mobile", 7), ("tablet", 2)])
HOURS = _weighted(
    [
        (h, w)
        for h, w in enumerate(
            [2, 1, 1, 1, 1, 2, 3, 5, 7, 9, 10, 10, 10, 11, 12, 12, 12, 11, 10, 9, 8, 6, 4, 3]
        )
    ]
)
PAGES = _weighted(
    [
        ("/", 8),
        ("/pricing", 5),
        ("/features", 4),
        ("/docs", 4),
        ("/blog", 3),
        ("/blog/activity-schema", 2),
        ("/customers", 2),
        ("/integrations", 2),
        ("/changelog", 1),
        ("/about", 1),
    ]
)
REFERRERS = _weighted([(None, 6), ("google", 5), ("newsletter", 2), ("github", 2), ("partner", 1)])
APP_URL = "https://app.example.com"
SHOP_URL = "https://shop.example.com"
CATEGORIES = ("starter_kit", "sensor", "dashboard", "connector", "support_plan", "training")
PRODUCTS = [
    (f"sku_{n:04d}", CATEGORIES[n % len(CATEGORIES)], float(9 + (n * 37) % 240))
    for n in range(1, 121)
]
CLICK_TARGETS = [
    ("add_to_cart_button", "/products"),
    ("signup_button", "/pricing"),
    ("nav_pricing_link", "/"),
    ("submit_button", "/checkout"),
    ("search_box", "/docs"),
    ("play_demo_button", "/features"),
    ("download_button", "/integrations"),
]
FORMS = [
    ("contact_form", "/contact"),
    ("checkout_form", "/checkout"),
    ("search_form", "/docs"),
    ("settings_form", "/settings"),
    ("feedback_form", "/feedback"),
]
TOOLS = _weighted(
    [
        ("read_file", 8),
        ("edit_file", 5),
        ("write_file", 2),
        ("search_files", 3),
        ("run_tests", 2),
        ("list_directory", 2),
    ]
)
TOOL_ERRORS = {
    "read_file": "FileNotFoundError: no such file",
    "edit_file": "old_string not found in file",
    "write_file": "PermissionError: read-only file system",
    "search_files": "pattern timed out after 30s",
    "run_tests": "3 tests failed",
    "list_directory": "NotADirectoryError: not a directory",
}
FILE_PATHS = [
    "/src/main.py",
    "/src/app.py",
    "/src/models/user.py",
    "/src/api/routes.py",
    "/src/utils.py",
    "/tests/test_api.py",
    "/tests/test_models.py",
    "/README.md",
    "/pyproject.toml",
    "/src/db/schema.sql",
    "/web/src/App.tsx",
    "/docs/index.md",
]
MODELS = _weighted([("claude-sonnet-4", 6), ("claude-opus-4", 2), ("claude-haiku-4", 2)])
PLANS = [("pro", 29.0), ("pro", 29.0), ("pro", 29.0), ("team", 99.0)]
AGENT_FAILURES = [
    ("rate_limited", "429: too many requests, retrying", True),
    ("context_overflow", "prompt is too long for the context window", False),
    ("api_timeout", "request timed out after 600s", True),
]


def _feature_tables() -> dict[str, Any]:
    """Every feature_json text or %-template the generator uses, built once at import."""
    return {
        "visited_page": {
            d: [_j({"page": p, "referrer": r, "device_type": d}) for p in PAGES for r in REFERRERS]
            for d in set(DEVICES)
        },
        "viewed_product": [
            (_j({"product_id": s, "category": c, "price": p}), f"{SHOP_URL}/products/{s}")
            for s, c, p in PRODUCTS
        ],
        "button_clicked": {
            d: [
                _template(
                    {
                        "interaction_type": "click",
                        "element_id": e,
                        "page_url": APP_URL + u,
                        "session_duration_ms": 0,
                        "device_type": d,
                    },
                    {"session_duration_ms": "%d"},
                )
                for e, u in CLICK_TARGETS
            ]
            for d in set(DEVICES)
        },
        "form_submitted": {
            (d, drift): [_form_template(e, u, d, drift) for e, u in FORMS]
            for d in set(DEVICES)
            for drift in (False, True)
        },
        "consent_updated": [
            _j({"analytics": a, "marketing": m, "do_not_sell": s})
            for a in (True, False)
            for m in (True, False)
            for s in (False, True)
        ],
        "tool_ok": [(_tool_template(t, f, None), t) for t in TOOLS for f in FILE_PATHS],
        "tool_error": [
            (_tool_template(t, f, TOOL_ERRORS[t]), t) for t in TOOLS for f in FILE_PATHS
        ],
        "agent_error": [
            _j({"error_type": e, "tool_name": None, "error_message": m, "recoverable": r})
            for e, m, r in AGENT_FAILURES
        ],
    }


def _form_template(element: str, url: str, device: str, drift: bool) -> str:
    obj: dict[str, Any] = {
        "interaction_type": "submit",
        "element_id": element,
        "page_url": APP_URL + url,
        "session_duration_ms": 0,
        "device_type": device,
    }
    if drift:
        obj["form_version"] = "v2"
    return _template(obj, {"session_duration_ms": "%d"})


def _tool_template(tool: str, path: str, error: str | None) -> tuple[str, str]:
    """(number template, string template) for one tool call: %d duration_ms, %d tokens_used."""
    obj = {
        "tool_name": tool,
        "parameters": {"file_path": path},
        "result_type": "error" if error else "success",
        "duration_ms": 0,
        "tokens_used": 0,
        "error_message": error,
    }
    holes = {"duration_ms": "%d", "tokens_used": "%d"}
    return _template(obj, holes), _template(obj, {**holes, "duration_ms": '"%d"'})


FEATURES = _feature_tables()
SESSION_START = _template(
    {"session_id": "", "device_type": "", "entry_page": ""},
    {"session_id": '"%s"', "device_type": '"%s"', "entry_page": '"%s"'},
)
SESSION_END = _template(
    {"session_id": "", "duration_ms": 0, "page_views": 0},
    {"session_id": '"%s"', "duration_ms": "%d", "page_views": "%d"},
)
SIGNUP = '{"method":"%s","attempt":%d,"source_page":"/signup"}'
EMAIL_VERIFIED = '{"method":"link","minutes_since_signup":%d}'
PROFILE = '{"role":"%s","company_size":"%s","fields_completed":%d}'
LOGIN = '{"method":"%s","new_device":true}'
ORDER = '{"order_id":"%s","items":%d,"currency":"USD","payment_method":"%s"}'
REFUND = '{"order_id":"%s","reason":"%s","partial":%s}'
SUB_START = '{"subscription_id":"%s","plan":"%s","interval":"monthly"}'
SUB_RENEW = '{"subscription_id":"%s","plan":"%s","interval":"monthly","period":%d}'
SUB_CANCEL = '{"subscription_id":"%s","plan":"%s","reason":"%s","periods_paid":%d}'
CLAUDE_START = '{"session_id":"%s","model":"%s","entrypoint":"%s"}'
SIGNUP_METHODS = _weighted([("email", 6), ("google", 3), ("github", 2)])
ROLES = ("engineer", "analyst", "product_manager", "founder", "marketer", "other")
COMPANY_SIZES = ("1-10", "11-50", "51-200", "201-1000", "1000+")
PAYMENT_METHODS = ("card", "card", "card", "paypal", "apple_pay")
REFUND_REASONS = ("damaged", "not_as_described", "changed_mind", "late_delivery")
CANCEL_REASONS = ("too_expensive", "missing_feature", "switched_provider", "no_longer_needed")


@dataclass(frozen=True)
class _Options:
    """Validated generator arguments; ``span_ms`` is the length of the time range."""

    seed: int
    customers: int
    events: int | None
    start_ms: int
    days: int
    plant_anomalies: bool

    @property
    def span_ms(self) -> int:
        return self.days * DAY_MS


def _options(
    *,
    seed: int = SEED_DEFAULT,
    customers: int = CUSTOMERS_DEFAULT,
    events: int | None = None,
    start: datetime = START_DEFAULT,
    days: int = DAYS_DEFAULT,
    plant_anomalies: bool = False,
) -> _Options:
    """Check the arguments shared by ``generate_events`` and ``write_ndjson``."""
    for name, value, low in (("customers", customers, 0), ("events", events, 0), ("days", days, 1)):
        if value is not None and (not isinstance(value, int) or value < low):
            raise ConfigError(
                f"Generator option '{name}' has value {value!r}. Must be an integer >= {low}.",
                code="invalid_generator_option",
            )
    if start.tzinfo is not None:
        start = start.astimezone(UTC).replace(tzinfo=None)
    start_ms = (start - _EPOCH) // timedelta(milliseconds=1)
    return _Options(int(seed), customers, events, start_ms, days, bool(plant_anomalies))


class _Journey:
    """Builds one actor's events; a single instance serves the whole stream (one shared RNG)."""

    def __init__(self, rng: random.Random, opts: _Options) -> None:
        self.rng = rng
        self.rnd = rng.random
        self.span = opts.span_ms
        self.plant = opts.plant_anomalies
        self.weekday0 = (opts.start_ms // DAY_MS + 3) % 7  # 1970-01-01 was a Thursday
        self.ev: list[Event] = []
        self.ids: list[Identity] = []
        self.session_id, self.session_t0 = "", 0

    # ---- small draws -------------------------------------------------------------------------
    def pick(self, seq: list[Any] | tuple[Any, ...]) -> Any:
        return seq[int(self.rnd() * len(seq))]

    def expo(self, mean: float) -> float:
        return -mean * math.log(1.0 - self.rnd())

    def gap(self) -> int:
        if self.rnd() < TIE_RATE:
            return 0
        return EVENT_GAP_MIN_MS + int(self.expo(EVENT_GAP_MEAN_MS))

    def time_of_day(self) -> int:
        hour: int = self.pick(HOURS)
        return hour * HOUR_MS + int(self.rnd() * HOUR_MS)

    def is_weekend(self, day: int) -> bool:
        return (self.weekday0 + day) % 7 >= 5

    def next_visit(self, t: int, mean_days: float) -> int:
        """Start of the next session: an exponential gap of days, at a plausible hour."""
        day = (t + HOUR_MS + int(self.expo(mean_days) * DAY_MS)) // DAY_MS
        if self.is_weekend(day) and self.rnd() < WEEKEND_SKIP_RATE:
            day += 2 if self.is_weekend(day + 1) else 1
        start = day * DAY_MS + self.time_of_day()
        return start if start > t + HOUR_MS else t + HOUR_MS + int(self.rnd() * HOUR_MS)

    def first_visit(self, days: int) -> int:
        day = int(self.rnd() * days)
        if self.is_weekend(day) and self.rnd() < WEEKEND_SKIP_RATE:
            day = int(self.rnd() * days)
        return max(1, day * DAY_MS + self.time_of_day())

    # ---- people ------------------------------------------------------------------------------
    def person(self, index: int) -> tuple[list[Identity], list[Event]]:
        anon = f"anon_{self.rng.getrandbits(64):016x}"
        cust = f"cust_{index + 1}"
        self.ids = [(None, anon), (cust, None), (cust, anon)]
        self.ev = []
        device = self.pick(DEVICES)
        t = self.first_visit(self.span // DAY_MS)
        n_anon = 1 + int(self.expo(ANON_EXTRA_SESSIONS_MEAN))
        never = self.rnd() < NEVER_SIGNUP_RATE
        for k in range(n_anon if never else n_anon - 1):
            t = self.next_visit(self.session(t, ANON, device, first=k == 0), ANON_RETURN_GAP_DAYS)
            if t >= self.span:
                break
        if not never and t < self.span:
            t, stage = self.signup(t, device)
            self.engage(t, stage, device)
        return self.ids, self.ev

    def system(self, count: int) -> tuple[list[Identity], list[Event]]:
        """The ``system`` actor: ``count`` deployments spread over the range, in office hours."""
        self.ids, self.ev = [(SYSTEM_CUSTOMER, None)], []
        days = self.span // DAY_MS
        for i in range(count):
            day = min(days - 1, int((i + self.rnd()) * days / count))
            t = max(
                1, day * DAY_MS + (9 + int(self.rnd() * 9)) * HOUR_MS + int(self.rnd() * HOUR_MS)
            )
            dep = f"dep_{1001 + i}"
            rollback = self.rnd() < ROLLBACK_RATE
            feature = _j(
                {
                    "event_type": "deployment",
                    "version": f"2.{i // 12}.{i % 12}",
                    "environment": "staging" if self.rnd() < 0.4 else "production",
                    "deployment_id": dep,
                    "rollback": rollback,
                    "duration_seconds": 60 + int(self.expo(240)),
                }
            )
            link = f"https://deploy.example.com/deployments/{dep}"
            self.ev.append((t, "deployment_completed", 0, feature, None, link))
        return self.ids, self.ev

    def signup(self, t: int, device: str) -> tuple[int, str]:
        """The session in which an anonymous visitor signs up, and any re-entry; returns stage."""
        t, sid, t0 = self.open_session(t, ANON, device)
        pages = 1 + int(self.expo(1.0))
        t = self.browse(t, ANON, device, t0, pages, identified=False)
        method = self.pick(SIGNUP_METHODS)
        t = self.emit(t + self.gap(), "signup_started", BOTH, SIGNUP % (method, 1))
        if self.rnd() < STEP_REPEAT_RATE:
            t = self.emit(t + self.gap(), "signup_started", BOTH, SIGNUP % (method, 1))
        verified = self.rnd() < VERIFY_FIRST_RATE
        if not verified and self.rnd() < REENTRY_RATE:
            t = self.close_session(t, BOTH, sid, t0, pages)
            t, sid, t0 = self.open_session(self.next_visit(t, 2.0), BOTH, device)
            pages = 0
            t = self.emit(t + self.gap(), "signup_started", BOTH, SIGNUP % (method, 2))
            verified = self.rnd() < VERIFY_RETRY_RATE
        stage = "unverified"
        if verified:
            t, stage = self.verify(t)
        return self.close_session(t, BOTH, sid, t0, pages), stage

    def verify(self, t: int) -> tuple[int, str]:
        minutes = 1 + int(self.rng.lognormvariate(1.0, 1.0))
        t = self.emit(t + minutes * MINUTE_MS, "email_verified", CUST, EMAIL_VERIFIED % minutes)
        if self.rnd() < STEP_REPEAT_RATE:
            t = self.emit(t + self.gap(), "email_verified", CUST, EMAIL_VERIFIED % minutes)
        if self.rnd() >= PROFILE_RATE:
            return t, "verified"
        profile = PROFILE % (self.pick(ROLES), self.pick(COMPANY_SIZES), 4 + int(self.rnd() * 5))
        t = self.emit(
            t + self.gap() + int(self.expo(3 * MINUTE_MS)), "profile_completed", CUST, profile
        )
        if self.rnd() < STEP_REPEAT_RATE:
            self.emit(t + int(self.expo(5 * DAY_MS)), "profile_completed", CUST, profile)
        return t, "profiled"

    def engage(self, t: int, stage: str, device: str) -> None:
        """Return visits after signup until the person churns or the range ends."""
        if stage == "unverified" and self.rnd() >= UNVERIFIED_RETURN_RATE:
            return
        mean_gap = VERIFIED_RETURN_GAP_DAYS
        if stage == "profiled":
            r, mean_gap = self.rnd(), RETURN_GAPS_DAYS[-1][0]
            for gap_days, weight in RETURN_GAPS_DAYS:
                if r < weight:
                    mean_gap = gap_days
                    break
                r -= weight
        developer = stage != "unverified" and self.rnd() < CLAUDE_USER_RATE
        subscribe_at = (
            int(self.rnd() * 3) if stage == "profiled" and self.rnd() < SUBSCRIBE_RATE else -1
        )
        n = 0
        while True:
            t = self.next_visit(t, mean_gap)
            if t >= self.span:
                return
            t = self.visit(t, device, stage, developer, subscribe=n == subscribe_at)
            n += 1
            if self.rnd() < SESSION_CHURN[stage]:
                return

    def visit(self, t: int, device: str, stage: str, developer: bool, subscribe: bool) -> int:
        """One identified session, sometimes on a new device (a new anonymous id, then a login)."""
        who = BOTH if self.rnd() < BOTH_IDS_SESSION_RATE else CUST
        if self.rnd() < NEW_DEVICE_RATE:
            anon = f"anon_{self.rng.getrandbits(64):016x}"
            cust = self.ids[CUST][0]
            self.ids += [(None, anon), (cust, anon)]
            who, device = len(self.ids) - 1, self.pick(DEVICES)
            t = self.session(t, who - 1, device, first=True, pages=1, close=False)
            self.emit(t + self.gap(), "user_logged_in", who, LOGIN % self.pick(SIGNUP_METHODS))
            return self.session(
                self.ev[-1][0],
                who,
                device,
                order_rate=ORDER_RATE[stage],
                developer=developer,
                subscribe=subscribe,
                resume=True,
            )
        return self.session(
            t, who, device, order_rate=ORDER_RATE[stage], developer=developer, subscribe=subscribe
        )

    # ---- sessions ----------------------------------------------------------------------------
    def emit(
        self,
        t: int,
        activity: str,
        who: int,
        feature: str,
        revenue: float | None = None,
        link: str | None = None,
    ) -> int:
        self.ev.append((t, activity, who, feature, revenue, link))
        return t

    def open_session(self, t: int, who: int, device: str) -> tuple[int, str, int]:
        sid = f"ses_{self.rng.getrandbits(48):012x}"
        self.emit(t, "session_started", who, SESSION_START % (sid, device, self.pick(PAGES)))
        return t, sid, t

    def close_session(self, t: int, who: int, sid: str, t0: int, pages: int) -> int:
        t += self.gap()
        return self.emit(t, "session_ended", who, SESSION_END % (sid, t - t0, pages))

    def session(
        self,
        t: int,
        who: int,
        device: str,
        *,
        first: bool = False,
        pages: int = 0,
        order_rate: float = 0.0,
        developer: bool = False,
        subscribe: bool = False,
        close: bool = True,
        resume: bool = False,
    ) -> int:
        """A whole session: start, page views with clicks and forms, extras, end; returns end."""
        identified = self.ids[who][0] is not None
        pages = pages or 1 + int(self.expo(PAGES_PER_SESSION_MEAN))
        if resume:
            sid, t0 = self.session_id, self.session_t0
        else:
            t, sid, t0 = self.open_session(t, who, device)
            self.session_id, self.session_t0 = sid, t0
        t = self.browse(t, who, device, t0, pages, identified)
        if self.rnd() < (CONSENT_FIRST_VISIT_RATE if first else CONSENT_RATE):
            t = self.emit(
                t + self.gap(), "consent_updated", who, self.pick(FEATURES["consent_updated"])
            )
        if identified and self.rnd() < order_rate:
            t = self.order(t, who)
        if subscribe:
            t = self.subscription(t + self.gap(), who)
        if developer and self.rnd() < CLAUDE_SESSION_RATE:
            t = self.agent(t, CUST)
        return self.close_session(t, who, sid, t0, pages) if close else t

    def browse(self, t: int, who: int, device: str, t0: int, pages: int, identified: bool) -> int:
        rnd, emit, gap = self.rnd, self.emit, self.gap
        page_texts, clicks = FEATURES["visited_page"][device], FEATURES["button_clicked"][device]
        for _ in range(pages):
            t += gap()
            if rnd() < PRODUCT_VIEW_RATE:
                feature, link = self.pick(FEATURES["viewed_product"])
                emit(t, "viewed_product", who, feature, None, link)
            else:
                emit(t, "visited_page", who, page_texts[int(rnd() * len(page_texts))])
            if rnd() < CLICK_RATE:
                t = self.click(t + gap(), who, self.pick(clicks) % (t - t0))
            if identified and rnd() < FORM_RATE:
                t += gap()
                drift = self.plant and t // DAY_MS >= PLANTED["new_feature_key"]["from_day"]
                form = self.pick(FEATURES["form_submitted"][device, drift])
                emit(t, "form_submitted", who, form % (t - t0))
        return t

    def click(self, t: int, who: int, feature: str) -> int:
        spike = PLANTED["volume_spike"]
        repeat = spike["factor"] if self.plant and t // DAY_MS == spike["day"] else 1
        for k in range(repeat):
            self.emit(t + k * SPIKE_REPEAT_GAP_MS, "button_clicked", who, feature)
        return t + (repeat - 1) * SPIKE_REPEAT_GAP_MS

    # ---- money -------------------------------------------------------------------------------
    def order(self, t: int, who: int) -> int:
        t += self.gap()
        oid = f"ord_{self.rng.getrandbits(40):010x}"
        amount = round(max(1.0, self.rng.lognormvariate(3.7, 0.7)), 2)
        link = f"{SHOP_URL}/orders/{oid}"
        items = 1 + int(self.expo(0.8))
        self.emit(
            t,
            "order_completed",
            who,
            ORDER % (oid, items, self.pick(PAYMENT_METHODS)),
            amount,
            link,
        )
        if self.rnd() < REFUND_RATE:
            partial = self.rnd() < 0.3
            refund = -round(amount / 2, 2) if partial else -amount
            when = t + DAY_MS + int(self.rnd() * 13 * DAY_MS)
            feature = REFUND % (oid, self.pick(REFUND_REASONS), "true" if partial else "false")
            self.emit(when, "order_refunded", CUST, feature, refund, link)
        return t

    def subscription(self, t: int, who: int) -> int:
        """Start a monthly plan; renew every 30 days until a cancellation (churn) or range end."""
        plan, price = self.pick(PLANS)
        sub = f"sub_{self.rng.getrandbits(40):010x}"
        link = f"https://billing.example.com/subscriptions/{sub}"
        self.emit(t, "subscription_started", who, SUB_START % (sub, plan), price, link)
        period = 1
        while t + period * SUBSCRIPTION_PERIOD_MS < self.span:
            base = t + (period - 1) * SUBSCRIPTION_PERIOD_MS
            if self.rnd() < SUBSCRIPTION_CHURN_RATE:
                feature = SUB_CANCEL % (sub, plan, self.pick(CANCEL_REASONS), period)
                when = base + int(self.rnd() * SUBSCRIPTION_PERIOD_MS)
                self.emit(when, "subscription_cancelled", CUST, feature, None, link)
                break
            when = t + period * SUBSCRIPTION_PERIOD_MS + int(self.rnd() * MINUTE_MS)
            self.emit(
                when, "subscription_renewed", CUST, SUB_RENEW % (sub, plan, period + 1), price, link
            )
            period += 1
        return t

    # ---- agent -------------------------------------------------------------------------------
    def agent(self, t: int, who: int) -> int:
        """A Claude session: tool calls (Tool Execution Pattern), errors; returns its end."""
        t += self.gap()
        cid = f"cls_{self.rng.getrandbits(48):012x}"
        start = CLAUDE_START % (cid, self.pick(MODELS), "cli" if self.rnd() < 0.6 else "ide")
        self.emit(t, "claude_session_start", who, start)
        stop_day = PLANTED["activity_stopped"]["from_day"] if self.plant else 1 << 30
        drift_day = PLANTED["type_drift"]["from_day"] if self.plant else 1 << 30
        for _ in range(1 + int(self.expo(TOOL_CALLS_MEAN))):
            t += 500 + int(self.expo(8_000))
            error = self.rnd() < TOOL_ERROR_RATE
            (as_number, as_string), tool = self.pick(FEATURES["tool_error" if error else "tool_ok"])
            duration = 5 + int(self.rng.lognormvariate(6.0 if tool == "run_tests" else 4.5, 0.9))
            tokens = 20 + int(self.rng.lognormvariate(6.0, 0.8))
            day = t // DAY_MS
            string = day >= drift_day and self.rnd() < PLANTED["type_drift"]["fraction"]
            if day < stop_day:
                self.emit(
                    t,
                    "claude_tool_call",
                    who,
                    (as_string if string else as_number) % (duration, tokens),
                )
            t += duration
            if error and self.rnd() < TOOL_ERROR_REPORTED_RATE:
                self.emit(
                    t,
                    "claude_error_encountered",
                    who,
                    _j(
                        {
                            "error_type": "tool_error",
                            "tool_name": tool,
                            "error_message": TOOL_ERRORS[tool],
                            "recoverable": True,
                        }
                    ),
                )
        if self.rnd() < AGENT_FAILURE_RATE:
            t = self.emit(
                t + self.gap(), "claude_error_encountered", who, self.pick(FEATURES["agent_error"])
            )
        return t


def _system_count(opts: _Options) -> int:
    expected = (
        opts.events if opts.events is not None else opts.customers * EVENTS_PER_PERSON_ESTIMATE
    )
    if expected == 0:
        return 0
    return min(opts.days * DEPLOYS_MAX_PER_DAY, max(1, round(expected * SYSTEM_EVENT_SHARE)))


def _uuid4(bits: int) -> str:
    """Same text as ``str(uuid.UUID(int=bits, version=4))``, several times faster."""
    h = f"{(bits & _UUID_CLEAR) | _UUID_SET:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _batches(opts: _Options) -> Iterator[Batch]:
    """One batch per actor: its identities, its events in ts order, and their activity ids."""
    rng = random.Random(opts.seed)
    journey = _Journey(rng, opts)
    left = opts.events
    index = 0
    todo: list[tuple[list[Identity], list[Event]]] = [journey.system(_system_count(opts))]
    while True:
        if not todo:
            if (left is None and index >= opts.customers) or left == 0:
                return
            todo.append(journey.person(index))
            index += 1
        ids, events = todo.pop()
        events.sort(key=_event_ts)
        events = [e for e in events if e[0] < opts.span_ms]
        if left is not None:
            events = events[:left]
            left -= len(events)
        getbits = rng.getrandbits
        yield ids, events, [_uuid4(getbits(128)) for _ in events]


def _event_ts(event: Event) -> int:
    return event[0]


class _Clock:
    """Formats ms-after-start as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` from cached pieces."""

    clock_minutes = [f"{m // 60:02d}:{m % 60:02d}:" for m in range(DAY_MS // MINUTE_MS)]
    clock_seconds: list[str] = []

    def __init__(self, start_ms: int) -> None:
        self.start_ms = start_ms
        self.dates: dict[int, str] = {}
        if not _Clock.clock_seconds:
            seconds = [f"{ms // 1000:02d}.{ms % 1000:03d}Z" for ms in range(MINUTE_MS)]
            _Clock.clock_seconds = seconds

    def date(self, day: int) -> str:
        text = (_EPOCH + timedelta(days=day)).strftime("%Y-%m-%dT")
        self.dates[day] = text
        return text

    def format(self, t: int) -> str:
        day, ms = divmod(self.start_ms + t, DAY_MS)
        minute, ms = divmod(ms, MINUTE_MS)
        return (
            (self.dates.get(day) or self.date(day))
            + self.clock_minutes[minute]
            + self.clock_seconds[ms]
        )


def generate_events(
    *,
    seed: int = SEED_DEFAULT,
    customers: int = CUSTOMERS_DEFAULT,
    events: int | None = None,
    start: datetime = START_DEFAULT,
    days: int = DAYS_DEFAULT,
    plant_anomalies: bool = False,
) -> Iterator[dict[str, Any]]:
    """Yield a deterministic, realistic ActivitySchema v2.0 stream as plain dicts.

    Args:
        seed: seeds the one RNG behind everything, activity ids included.
        customers: how many people (each becomes one actor after identity stitching); ignored
            when ``events`` is given.
        events: when given, exactly this many records, from as many people as that takes.
        start: beginning of the time range (naive = UTC); every ts is strictly after it.
        days: length of the range; every ts is strictly before ``start + days``.
        plant_anomalies: add the data-quality signals described in ``PLANTED``.

    Returns:
        An iterator of records with exactly the eight spec fields.

    Example:
        >>> records = list(generate_events(seed=1, events=5))
        >>> len(records), sorted(records[0])[:3]
        (5, ['activity', 'activity_id', 'anonymous_customer_id'])
    """
    opts = _options(
        seed=seed,
        customers=customers,
        events=events,
        start=start,
        days=days,
        plant_anomalies=plant_anomalies,
    )
    clock = _Clock(opts.start_ms)
    loads = json.loads
    for ids, batch, aids in _batches(opts):
        for (t, activity, who, feature, revenue, link), aid in zip(batch, aids, strict=True):
            customer, anon = ids[who]
            yield {
                "activity_id": aid,
                "ts": clock.format(t),
                "activity": activity,
                "customer": customer,
                "anonymous_customer_id": anon,
                "feature_json": loads(feature),
                "revenue_impact": revenue,
                "link": link,
            }


def _identity_json(identity: Identity) -> str:
    customer, anon = (f'"{v}"' if v is not None else "null" for v in identity)
    return f'"customer":{customer},"anonymous_customer_id":{anon}'


def _write(out: TextIO, opts: _Options) -> int:
    """Render every batch as NDJSON text; the f-string mirrors ``json.dumps`` of the dict form."""
    clock = _Clock(opts.start_ms)
    dates, minutes, seconds = clock.dates, clock.clock_minutes, clock.clock_seconds
    start_ms = opts.start_ms
    lines: list[str] = []
    count = 0
    for ids, batch, aids in _batches(opts):
        heads = [_identity_json(identity) for identity in ids]
        for (t, activity, who, feature, revenue, link), aid in zip(batch, aids, strict=True):
            day, ms = divmod(start_ms + t, DAY_MS)
            minute, ms = divmod(ms, MINUTE_MS)
            ts = (dates.get(day) or clock.date(day)) + minutes[minute] + seconds[ms]
            rev = "null" if revenue is None else repr(revenue)
            url = "null" if link is None else f'"{link}"'
            lines.append(
                f'{{"activity_id":"{aid}","ts":"{ts}","activity":"{activity}",'
                f'{heads[who]},"feature_json":{feature},"revenue_impact":{rev},'
                f'"link":{url}}}\n'
            )
        if len(lines) >= WRITE_CHUNK_LINES:
            count += len(lines)
            out.write("".join(lines))
            lines.clear()
    out.write("".join(lines))
    return count + len(lines)


def write_ndjson(path: str | os.PathLike[str], **options: Any) -> int:
    """Write ``generate_events(**options)`` as NDJSON (``"-"`` is stdout); return the record count.

    Each line is exactly ``json.dumps(record, separators=(",", ":"), ensure_ascii=False)``.

    Example:
        >>> import tempfile, pathlib
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "demo.ndjson"
        >>> write_ndjson(target, seed=3, events=100)
        100
    """
    opts = _options(**options)
    if str(path) == "-":
        count = _write(sys.stdout, opts)
        sys.stdout.flush()
        return count
    with open(path, "w", encoding="utf-8", newline="\n", buffering=WRITE_BUFFER_BYTES) as out:
        return _write(out, opts)
