WITH starts AS (
    SELECT coalesce(customer, anonymous_customer_id) AS actor, date_diff('day', DATE '1969-12-29', CAST(date_trunc('week', ts) AS DATE)) // 7 AS p
    FROM activities
    WHERE activity = $st_activity AND TRUE
      AND coalesce(customer, anonymous_customer_id) IS NOT NULL
),
cohorts AS (
    SELECT *
    FROM (SELECT actor, min(p) AS cohort FROM starts GROUP BY actor)
    WHERE cohort >= $cohort_start
),
returns AS (
    SELECT DISTINCT coalesce(customer, anonymous_customer_id) AS actor, date_diff('day', DATE '1969-12-29', CAST(date_trunc('week', ts) AS DATE)) // 7 AS p
    FROM activities
    WHERE TRUE
      AND coalesce(customer, anonymous_customer_id) IS NOT NULL
      AND ts >= $scan_start
),
hits AS (
    SELECT c.cohort, c.actor, r.p - c.cohort AS k
    FROM cohorts c
    JOIN returns r ON r.actor = c.actor AND r.p >= c.cohort
),
cells AS (
    SELECT cohort, k, count(*) AS retained
    FROM hits
    WHERE k < $intervals
    GROUP BY cohort, k
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
