WITH activity_codes AS (
    SELECT activity, CAST(row_number() OVER (ORDER BY activity) AS INTEGER) AS code
    FROM (SELECT DISTINCT activity FROM activities)
),
actor_codes AS (
    SELECT *, CAST(row_number() OVER (ORDER BY actor) AS INTEGER) AS aid
    FROM (
        SELECT coalesce(customer, anonymous_customer_id) AS actor, max(epoch_us(ts)) FILTER (WHERE activity = $end_activity) AS hi_us
        FROM activities
        WHERE activity = ANY($anchors)
          AND coalesce(customer, anonymous_customer_id) IS NOT NULL
        GROUP BY actor
        HAVING hi_us IS NOT NULL
    )
),
ev AS (
    SELECT a.aid, epoch_us(e.ts) AS us, e.activity_id AS id, c.code AS act, e.activity = $end_activity AS is_end_activity
    FROM activities e
    JOIN actor_codes a ON a.actor = coalesce(e.customer, e.anonymous_customer_id)
    JOIN activity_codes c ON c.activity = e.activity
    WHERE TRUE
      AND epoch_us(e.ts) <= a.hi_us
),
marked AS (
    SELECT aid, us, act, rn, is_new, is_end_activity
    FROM (
        SELECT *, (prev_us IS NULL) AS is_new
        FROM (SELECT *, lag(us) OVER w AS prev_us, lag(act) OVER w AS prev_act, row_number() OVER w AS rn
              FROM ev WINDOW w AS (PARTITION BY aid ORDER BY us, id))
    )
),
ends AS (
    SELECT aid, [a4, a3, a2, a1, act] AS acts, [t4, t3, t2, t1, us] AS times, CASE WHEN is_new OR a1 IS NULL THEN 1 WHEN b1 OR a2 IS NULL THEN 2 WHEN b2 OR a3 IS NULL THEN 3 WHEN b3 OR a4 IS NULL THEN 4 ELSE 5 END AS len
    FROM (SELECT *, lag(act, 1) OVER w AS a1, lag(us, 1) OVER w AS t1, lag(act, 2) OVER w AS a2, lag(us, 2) OVER w AS t2, lag(act, 3) OVER w AS a3, lag(us, 3) OVER w AS t3, lag(act, 4) OVER w AS a4, lag(us, 4) OVER w AS t4, lag(is_new, 1) OVER w AS b1, lag(is_new, 2) OVER w AS b2, lag(is_new, 3) OVER w AS b3, max(rn) FILTER (WHERE is_end_activity) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end_activity_rn, max(rn) FILTER (WHERE is_new) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS session_rn FROM marked WINDOW w AS (PARTITION BY aid ORDER BY rn))
    WHERE (is_end_activity AND (prev_end_activity_rn IS NULL OR prev_end_activity_rn < session_rn))
),
aligned AS (
    SELECT aid, acts[5 - len + 1:] AS path, times[5 - len + 1:] AS times, 5 - len AS step_offset
    FROM ends
),
names AS (
    SELECT list(activity ORDER BY code) AS names
    FROM activity_codes
),
transitions AS (
    SELECT i + step_offset AS step, path[i] AS source, path[i + 1] AS target, times[i + 1] - times[i] AS gap_us
    FROM (SELECT *, unnest(range(1, len(path))) AS i FROM aligned)
),
edges AS (
    SELECT step, source, target, count(*) AS n, quantile_cont(gap_us, 0.5) AS median_us
    FROM transitions
    GROUP BY step, source, target
    ORDER BY n DESC, step, source, target
    LIMIT $edge_limit
),
path_counts AS (
    SELECT path, count(*) AS n
    FROM aligned
    GROUP BY path
    ORDER BY n DESC, path
    LIMIT $top_paths
),
top AS (
    SELECT p.path, any_value(p.n) AS n, count(DISTINCT a.aid) AS actors,
           quantile_cont(a.times[-1] - a.times[1], 0.5) AS median_us
    FROM path_counts p
    JOIN aligned a ON a.path = p.path
    GROUP BY p.path
)
SELECT 'total' AS kind, NULL AS step, NULL AS source, NULL AS target, count(*) AS n,
       count(DISTINCT aid) AS actors, NULL AS median_us, CAST(NULL AS VARCHAR[]) AS path
FROM aligned
UNION ALL
SELECT 'edge', step, names[source], names[target], n, NULL, median_us, NULL FROM edges, names
UNION ALL
SELECT 'path', NULL, NULL, NULL, n, actors, median_us, list_select(names, path) FROM top, names
