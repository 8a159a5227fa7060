WITH activity_codes AS (
    SELECT activity, CAST(row_number() OVER (ORDER BY activity) AS INTEGER) AS code
    FROM (SELECT DISTINCT activity FROM activities)
),
actor_codes AS (
    SELECT *, CAST(row_number() OVER (ORDER BY actor) AS INTEGER) AS aid
    FROM (
        SELECT coalesce(customer, anonymous_customer_id) AS actor, min(epoch_us(ts)) FILTER (WHERE activity = $start_activity) AS lo_us
        FROM activities
        WHERE activity = ANY($anchors)
          AND coalesce(customer, anonymous_customer_id) IS NOT NULL
        GROUP BY actor
        HAVING lo_us IS NOT NULL
    )
),
ev AS (
    SELECT a.aid, epoch_us(e.ts) AS us, e.activity_id AS id, c.code AS act, e.activity = $start_activity AS is_start_activity
    FROM activities e
    JOIN actor_codes a ON a.actor = coalesce(e.customer, e.anonymous_customer_id)
    JOIN activity_codes c ON c.activity = e.activity
    WHERE TRUE
      AND epoch_us(e.ts) >= a.lo_us
),
marked AS (
    SELECT aid, us, act, rn, is_new, is_start_activity
    FROM (
        SELECT *, (prev_us IS NULL OR us - prev_us > $gap_us) AS is_new
        FROM (SELECT *, lag(us) OVER w AS prev_us, lag(act) OVER w AS prev_act, row_number() OVER w AS rn
              FROM ev WINDOW w AS (PARTITION BY aid ORDER BY us, id))
    )
    WHERE is_new OR act <> prev_act
),
starts AS (
    SELECT aid, [act, a1, a2, a3, a4] AS acts, [us, t1, t2, t3, t4] AS times, CASE WHEN a1 IS NULL OR b1 THEN 1 WHEN a2 IS NULL OR b2 THEN 2 WHEN a3 IS NULL OR b3 THEN 3 WHEN a4 IS NULL OR b4 THEN 4 ELSE 5 END AS len
    FROM (SELECT *, lead(act, 1) OVER w AS a1, lead(us, 1) OVER w AS t1, lead(act, 2) OVER w AS a2, lead(us, 2) OVER w AS t2, lead(act, 3) OVER w AS a3, lead(us, 3) OVER w AS t3, lead(act, 4) OVER w AS a4, lead(us, 4) OVER w AS t4, lead(is_new, 1) OVER w AS b1, lead(is_new, 2) OVER w AS b2, lead(is_new, 3) OVER w AS b3, lead(is_new, 4) OVER w AS b4, max(rn) FILTER (WHERE is_start_activity) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_start_activity_rn, max(rn) FILTER (WHERE is_new) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS session_rn FROM marked WINDOW w AS (PARTITION BY aid ORDER BY rn))
    WHERE (is_start_activity AND (prev_start_activity_rn IS NULL OR prev_start_activity_rn < session_rn))
),
aligned AS (
    SELECT aid, acts[1:stop] AS path, times[1:stop] AS times, 0 AS step_offset
    FROM (SELECT *, len AS stop FROM starts)
    WHERE stop IS NOT NULL
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
