WITH starts AS (
    SELECT coalesce(customer, anonymous_customer_id) AS actor, date_diff('day', DATE '1969-12-29', CAST(date_trunc('week', ts) AS DATE)) // 7 AS p
    FROM activities
    WHERE activity = $st_activity AND TRUE
      AND coalesce(customer, anonymous_customer_id) IS NOT NULL
),
cohorts AS (
    SELECT *
    FROM (SELECT DISTINCT actor, p AS cohort FROM starts)
    WHERE TRUE
),
returns AS (
    SELECT DISTINCT coalesce(customer, anonymous_customer_id) AS actor, date_diff('day', DATE '1969-12-29', CAST(date_trunc('week', ts) AS DATE)) // 7 AS p
    FROM activities
    WHERE activity = $rt_activity AND TRUE
      AND coalesce(customer, anonymous_customer_id) IS NOT NULL
),
hits AS (
    SELECT c.cohort, c.actor, r.p - c.cohort AS k
    FROM cohorts c
    JOIN returns r ON r.actor = c.actor AND r.p >= c.cohort
),
lasts AS (
    SELECT cohort, actor, max(k) AS last_k
    FROM hits
    GROUP BY cohort, actor
),
cells AS (
    SELECT l.cohort, g.k, count(*) AS retained
    FROM lasts l
    JOIN range($intervals) g(k) ON g.k <= l.last_k
    GROUP BY l.cohort, g.k
),
sizes AS (
    SELECT cohort, count(*) AS size
    FROM cohorts
    GROUP BY cohort
)
SELECT s.cohort, s.size,
       list({'k': c.k, 'n': c.retained} ORDER BY c.k) FILTER (WHERE c.k IS NOT NULL) AS cells
FROM sizes s
LEFT JOIN cells c USING (cohort)
GROUP BY s.cohort, s.size
ORDER BY s.cohort
