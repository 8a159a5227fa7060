"""Volume-anomaly rules on synthetic daily series (docs/quality.md, "Volume anomalies")."""

from __future__ import annotations

import random
from datetime import date, datetime

from activityschema.quality import anomalies as A
from activityschema.quality.anomalies import Series, end_day, score_series

START = date(2026, 1, 5)  # a Monday
WEEKDAY_SHAPE = [1.0, 1.05, 1.1, 1.0, 0.95, 0.55, 0.5]


def poisson(rng: random.Random, mean: float) -> int:
    # Knuth for small means, normal approximation above.
    if mean > 60:
        return max(0, round(rng.gauss(mean, mean**0.5)))
    limit, k, p = 2.718281828459045**-mean, 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def bursty(rng: random.Random, sessions: float, per_session: float) -> int:
    """Compound counts: Poisson sessions, each with a geometric number of events (like tool calls)."""
    total = 0
    for _ in range(poisson(rng, sessions)):
        n = 1
        while rng.random() > 1 / per_session:
            n += 1
        total += n
    return total


def weekly(seed: int, days: int = 120, level: float = 80.0) -> list[int]:
    rng = random.Random(seed)
    return [poisson(rng, level * WEEKDAY_SHAPE[i % 7]) for i in range(days)]


def flags(counts: list[int]) -> list[dict]:
    return score_series(Series("thing_happened", START, counts)).findings


def test_stable_weekly_series_is_quiet_over_many_seeds():
    assert [f for seed in range(40) for f in flags(weekly(seed))] == []


def test_bursty_series_is_quiet_over_many_seeds():
    # Three sessions a day, six events per session on average (geometric): variance ~11x the mean.
    rng = random.Random(11)
    series = [[bursty(rng, 3 * WEEKDAY_SHAPE[i % 7], 6.0) for i in range(120)] for _ in range(30)]
    assert [f for s in series for f in flags(s)] == []


def test_few_large_bursts_a_day_stay_below_the_documented_rate():
    # The documented limit: about one burst a day of heavy-tailed size can look like a spike on
    # ordinary days; the rate stays under MAX_RATE of the evaluated days.
    max_rate = 0.005
    rng = random.Random(3)
    scored = [
        score_series(
            Series("x", START, [bursty(rng, 1.2 * WEEKDAY_SHAPE[i % 7], 6.0) for i in range(120)])
        )
        for _ in range(30)
    ]
    evaluated = sum(1 for s in scored for p in s.dispersion if p is not None)
    found = sum(len(s.findings) for s in scored)
    assert found / evaluated < max_rate


def test_growing_series_is_quiet():
    rng = random.Random(5)
    counts = [poisson(rng, (10 + i * 1.5) * WEEKDAY_SHAPE[i % 7]) for i in range(120)]
    assert flags(counts) == []


def test_spike_is_flagged_on_its_day_only():
    counts = weekly(1)
    counts[60] *= 4
    found = flags(counts)
    assert [(f["kind"], f["day"]) for f in found] == [("spike", "2026-03-06")]
    assert found[0]["observed"] == counts[60] and found[0]["expected"] < counts[60] / 3


def test_weekday_seasonality_is_expected_not_flagged():
    # Weekends at half volume are normal; a Saturday at weekday volume is not a spike by 2x.
    counts = weekly(2)
    assert all(f["kind"] != "spike" for f in flags(counts))


def test_single_day_drop_is_flagged():
    counts = weekly(4, level=200)
    counts[70] = counts[70] // 5
    assert [(f["kind"], f["day"]) for f in flags(counts)] == [("drop", "2026-03-16")]


def test_activity_that_stopped_is_one_finding_to_the_end():
    counts = weekly(6)
    counts[100:] = [0] * 20
    found = flags(counts)
    assert len(found) == 1
    stop = found[0]
    assert (stop["kind"], stop["day"], stop["last_day"]) == ("stopped", "2026-04-15", "2026-05-04")
    assert stop["observed"] == 0 and stop["score"] >= A.SILENCE_SCORE


def test_silence_in_the_middle_is_a_multi_day_drop():
    counts = weekly(7, level=30)
    counts[50:55] = [0] * 5
    found = flags(counts)
    assert [(f["kind"], f["day"], f["last_day"]) for f in found] == [
        ("drop", "2026-02-24", "2026-02-28")
    ]


def test_short_silence_of_a_sparse_activity_is_not_flagged():
    rng = random.Random(8)
    counts = [poisson(rng, 0.8) for _ in range(120)]
    counts[110:] = [0] * 10  # ten quiet days at <1 per day happen
    assert flags(counts) == []


def test_no_flags_before_the_history_is_long_enough():
    counts = weekly(9)[:40]
    counts[30] *= 10
    series = score_series(Series("thing_happened", START, counts))
    assert series.expected[A.MIN_HISTORY_DAYS - 1] is None
    assert series.findings == []  # day 30 has an expectation but no dispersion yet


def test_end_day_skips_today_and_honours_until():
    now = datetime(2026, 5, 4, 15, 0)
    assert end_day(datetime(2026, 5, 4, 9, 0), now, None) == date(2026, 5, 3)
    assert end_day(datetime(2026, 5, 2, 9, 0), now, None) == date(2026, 5, 2)
    assert end_day(datetime(2026, 5, 4, 9, 0), now, date(2026, 4, 1)) == date(2026, 4, 1)
    assert end_day(None, now, None) is None
