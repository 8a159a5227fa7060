"""Templates of every shape, registered for the scope and injection tests (and the CLI wrapper)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from activityschema.sql.templates import SAFE_IDENTIFIER_RE, Params, Template, register_template


class CustomerEvents(Params):
    customer: str
    limit: int = Field(100, ge=1, le=1000)


class Totals(Params):
    activity: str | None = None
    since: datetime | None = None


class Drilldown(Params):
    activities: list[str]
    min_events: int = 1


class GroupBy(Params):
    column: Literal["activity", "customer"] = "activity"
    feature_key: str = Field("plan", pattern=SAFE_IDENTIFIER_RE.pattern)


class Links(Params):
    customer: str | None = None


class Rejects(Params):
    reason: str = "invalid_ts"


class ByTemplate(Params):
    template: str


class NoParams(Params):
    pass


def _group_by(p: GroupBy) -> tuple[str, dict[str, Any]]:
    # ``column`` comes from a Literal allow-list: the only kind of identifier a builder may format in.
    return (f"SELECT {p.column} AS k, count(*) AS n, max(json_extract_string(feature_json, $path)) AS v "
            "FROM activities GROUP BY 1 ORDER BY 1"), {"path": "$." + p.feature_key}


for _t in (
    Template("fuzz_customer_events", CustomerEvents, "events of one customer",
             sql="SELECT activity_id, activity, ts, customer, CAST(feature_json AS VARCHAR) AS features FROM activities "
                 "WHERE customer = $customer ORDER BY ts, activity_id LIMIT $limit"),
    Template("fuzz_totals", Totals, "aggregates",
             sql="SELECT count(*) AS events, count(DISTINCT coalesce(customer, anonymous_customer_id)) AS actors, "
                 "sum(revenue_impact) AS revenue FROM activities WHERE (CAST($activity AS VARCHAR) IS NULL OR activity = $activity) "
                 "AND (CAST($since AS TIMESTAMP) IS NULL OR ts >= $since)"),
    Template("fuzz_drilldown", Drilldown, "actors with at least n events among activities",
             sql="SELECT coalesce(customer, anonymous_customer_id) AS actor, count(*) AS n FROM activities "
                 "WHERE list_contains($activities, activity) GROUP BY 1 HAVING count(*) >= $min_events ORDER BY 1"),
    Template("fuzz_group_by", GroupBy, "a builder with a validated identifier", build=_group_by),
    Template("fuzz_links", Links, "identity links",
             sql="SELECT anonymous_customer_id, customer FROM identity_map "
                 "WHERE CAST($customer AS VARCHAR) IS NULL OR customer = $customer ORDER BY 1"),
    Template("fuzz_rejects", Rejects, "rejects by reason",
             sql="SELECT activity_id, payload FROM rejected_activities WHERE list_contains(reason_codes, $reason) ORDER BY activity_id"),
    Template("fuzz_provenance", ByTemplate, "reads a table without row scope",
             sql="SELECT query_hash, CAST(parameters AS VARCHAR) AS p FROM provenance_chain WHERE template_name = $template"),
    Template("fuzz_journeys", NoParams, "transitions, with a CTE",
             sql="WITH steps AS (SELECT activity, lead(activity) OVER (PARTITION BY coalesce(customer, anonymous_customer_id) "
                 "ORDER BY ts, activity_id) AS nxt FROM activities) SELECT activity, nxt, count(*) AS n FROM steps GROUP BY ALL ORDER BY ALL"),
):
    register_template(_t)
