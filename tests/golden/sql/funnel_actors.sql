WITH ev AS (
    SELECT *, CASE WHEN m1 THEN 1 WHEN m2 THEN 2 END AS k
    FROM (
        SELECT coalesce(customer, anonymous_customer_id) AS actor,
               ts,
               CAST(NULL AS VARCHAR) AS id,
               (activity = $s1_activity AND TRUE) AS m1,
               (activity = $s2_activity AND TRUE) AS m2,
               CAST(NULL AS VARCHAR) AS bvalue
        FROM activities
        WHERE activity = ANY([$act_0, $act_1])
          AND coalesce(customer, anonymous_customer_id) IS NOT NULL
    )
),
c1 AS (
    SELECT actor, ts AS t1
    FROM ev
    WHERE k = 1
),
c2 AS (
    SELECT c.actor, c.t1, min(e.ts) AS t2
    FROM c1 c
    LEFT JOIN (SELECT actor, ts FROM ev WHERE k = 2) e
      ON e.actor = c.actor
     AND e.ts >= c.t1
     AND e.ts <= c.t1 + to_microseconds($window_us)
    GROUP BY c.actor, c.t1
),
chains AS (
    SELECT *, t1 + to_microseconds($window_us) AS deadline, '' AS id1, CAST(NULL AS VARCHAR) AS bvalue
    FROM c2
),
entries AS (
    SELECT actor, id1, t1, bvalue, CASE WHEN level >= 2 THEN t2 END AS t2
    FROM (
        SELECT c.*, least(1 + CAST(t2 IS NOT NULL AS INTEGER), coalesce(NULL, 2)) AS level
        FROM chains c
    )
),
counted AS (
    SELECT actor, t1, t2, '' AS id1, CAST(NULL AS VARCHAR) AS bvalue, level
    FROM (
        SELECT actor, max(level) AS level, arg_max_null(t1, pick) AS t1, arg_max_null(t2, pick) AS t2
        FROM (SELECT *, (CAST(level AS HUGEINT) << 64) - epoch_us(t1) AS pick
              FROM (SELECT *, 1 + CAST(t2 IS NOT NULL AS INTEGER) AS level FROM entries))
        GROUP BY actor
    )
),
labeled AS (
    SELECT *, CAST(NULL AS VARCHAR) AS bucket, false AS is_other
    FROM counted
)
SELECT actor, t1 AS entered_at, level AS furthest_step, CASE level WHEN 2 THEN t2 ELSE t1 END AS last_step_at, bucket AS breakdown_value,
       count(*) OVER () AS total
FROM labeled
WHERE level = $step - 1
ORDER BY t1, actor
LIMIT $limit OFFSET $offset
