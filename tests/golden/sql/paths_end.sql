WITH ev AS (
    SELECT coalesce(customer, anonymous_customer_id) AS actor, ts, activity_id AS id, activity
    FROM activities
    WHERE coalesce(customer, anonymous_customer_id) IS NOT NULL
      AND coalesce(customer, anonymous_customer_id) IN (SELECT coalesce(customer, anonymous_customer_id) FROM activities WHERE activity = ANY($anchors) )
),
marked AS (
    SELECT actor, ts, id, activity, is_new
    FROM (
        SELECT *, (prev_ts IS NULL) AS is_new
        FROM (SELECT *, lag(ts) OVER w AS prev_ts, lag(activity) OVER w AS prev_activity FROM ev WINDOW w AS (PARTITION BY actor ORDER BY ts, id))
    )
),
ends AS (
    SELECT actor, [a4, a3, a2, a1, activity] AS acts, [t4, t3, t2, t1, ts] AS times, CASE WHEN is_new OR a1 IS NULL THEN 1 WHEN b1 OR a2 IS NULL THEN 2 WHEN b2 OR a3 IS NULL THEN 3 WHEN b3 OR a4 IS NULL THEN 4 ELSE 5 END AS len
    FROM (SELECT *, lag(activity, 1) OVER w AS a1, lag(ts, 1) OVER w AS t1, lag(activity, 2) OVER w AS a2, lag(ts, 2) OVER w AS t2, lag(activity, 3) OVER w AS a3, lag(ts, 3) OVER w AS t3, lag(activity, 4) OVER w AS a4, lag(ts, 4) OVER w AS t4, lag(is_new, 1) OVER w AS b1, lag(is_new, 2) OVER w AS b2, lag(is_new, 3) OVER w AS b3, max({'ts': ts, 'id': id}) FILTER (WHERE activity = $end_activity) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end_activity_key, max({'ts': ts, 'id': id}) FILTER (WHERE is_new) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS session_key FROM marked WINDOW w AS (PARTITION BY actor ORDER BY ts, id))
    WHERE (activity = $end_activity AND (prev_end_activity_key IS NULL OR prev_end_activity_key < session_key))
),
aligned AS (
    SELECT actor, acts[5 - len + 1:] AS path, times[5 - len + 1:] AS times, 5 - len AS step_offset
    FROM ends
),
transitions AS (
    SELECT i + step_offset AS step, path[i] AS source, path[i + 1] AS target,
           epoch_us(times[i + 1]) - epoch_us(times[i]) AS gap_us
    FROM (SELECT *, unnest(range(1, len(path))) AS i FROM aligned)
),
edge_counts AS (
    SELECT step, source, target, count(*) AS n
    FROM transitions
    GROUP BY step, source, target
    ORDER BY n DESC, step, source, target
    LIMIT $edge_limit
),
edges AS (
    SELECT e.step, e.source, e.target, any_value(e.n) AS n, quantile_cont(t.gap_us, 0.5) AS median_us
    FROM edge_counts e
    JOIN transitions t ON t.step = e.step AND t.source = e.source AND t.target = e.target
    GROUP BY e.step, e.source, e.target
),
path_counts AS (
    SELECT path, count(*) AS n
    FROM aligned
    GROUP BY path
    ORDER BY n DESC, path
    LIMIT $top_paths
),
top AS (
    SELECT p.path, any_value(p.n) AS n, count(DISTINCT a.actor) AS actors,
           quantile_cont(epoch_us(a.times[-1]) - epoch_us(a.times[1]), 0.5) AS median_us
    FROM path_counts p
    JOIN aligned a ON a.path = p.path
    GROUP BY p.path
)
SELECT 'total' AS kind, NULL AS step, NULL AS source, NULL AS target, count(*) AS n,
       count(DISTINCT actor) AS actors, NULL AS median_us, CAST(NULL AS VARCHAR[]) AS path
FROM aligned
UNION ALL
SELECT 'edge', step, source, target, n, NULL, median_us, NULL FROM edges
UNION ALL
SELECT 'path', NULL, NULL, NULL, n, actors, median_us, path FROM top
