"""Small built-in templates an agent uses to look before it remembers (MCP ``submit_query``).

Each is a named template with typed, bound parameters, so every answer carries a query hash an
insight atom can cite as its provenance.
"""

from __future__ import annotations

from pydantic import Field

from ..sql.templates import Params, Template, register_template

LIMIT_DEFAULT = 20
LIMIT_MAX = 1000


class CustomerEvents(Params):
    customer: str = Field(min_length=1, max_length=255, description="The customer (actor) id.")
    activity: str | None = Field(None, max_length=100, description="Only this activity (default: all).")
    limit: int = Field(LIMIT_DEFAULT, ge=1, le=LIMIT_MAX, description="Newest events to return.")


class CustomerOnly(Params):
    customer: str = Field(min_length=1, max_length=255, description="The customer (actor) id.")


class NoParams(Params):
    pass


class TopCustomers(Params):
    limit: int = Field(LIMIT_DEFAULT, ge=1, le=LIMIT_MAX, description="Customers to return.")


CUSTOMER_EVENTS = register_template(Template(
    name="customer_events",
    params=CustomerEvents,
    description="The newest events of one customer (optionally of one activity), newest first.",
    sql="""
SELECT activity_id, ts, activity, customer, anonymous_customer_id, feature_json, revenue_impact, link,
       activity_occurrence, activity_repeated_at
FROM activities
WHERE coalesce(customer, anonymous_customer_id) = $customer
  AND ($activity IS NULL OR activity = $activity)
ORDER BY ts DESC, activity_id DESC
LIMIT $limit
""",
))

CUSTOMER_ACTIVITY_COUNTS = register_template(Template(
    name="customer_activity_counts",
    params=CustomerOnly,
    description="Per activity of one customer: events, first and last time, revenue.",
    sql="""
SELECT activity, count(*) AS events, min(ts) AS first_ts, max(ts) AS last_ts,
       coalesce(sum(revenue_impact), 0) AS revenue
FROM activities
WHERE coalesce(customer, anonymous_customer_id) = $customer
GROUP BY activity
ORDER BY events DESC, activity
""",
))

ACTIVITY_CATALOG = register_template(Template(
    name="activity_catalog",
    params=NoParams,
    description="Every activity in the stream: events, actors, first and last seen.",
    sql="""
SELECT activity, count(*) AS events, count(DISTINCT coalesce(customer, anonymous_customer_id)) AS actors,
       min(ts) AS first_seen, max(ts) AS last_seen
FROM activities
GROUP BY activity
ORDER BY events DESC, activity
""",
))

TOP_CUSTOMERS_BY_REVENUE = register_template(Template(
    name="top_customers_by_revenue",
    params=TopCustomers,
    description="Customers with the highest total revenue_impact.",
    sql="""
SELECT coalesce(customer, anonymous_customer_id) AS customer, sum(revenue_impact) AS revenue, count(*) AS events
FROM activities
WHERE revenue_impact IS NOT NULL AND coalesce(customer, anonymous_customer_id) IS NOT NULL
GROUP BY 1
ORDER BY revenue DESC, customer
LIMIT $limit
""",
))
