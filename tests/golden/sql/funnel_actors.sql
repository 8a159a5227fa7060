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
        WHERE activity = $act_0
          AND coalesce(customer, anonymous_customer_id) IS NOT NULL
        UNION ALL
        SELECT coalesce(customer, anonymous_customer_id) AS actor,
               ts,
               CAST(NULL AS VARCHAR) AS id,
               (activity = $s1_activity AND TRUE) AS m1,
               (activity = $s2_activity AND TRUE) AS m2,
               CAST(NULL AS VARCHAR) AS bvalue
        FROM activities
        WHERE activity = $act_1
          AND coalesce(customer, anonymous_customer_id) IS NOT NULL
    )
),
c1 AS (
    SELECT actor, '' AS id1, ts AS t1, ts + to_microseconds($window_us) AS deadline, bvalue
    FROM ev
    WHERE k = 1
),
c2 AS (
    SELECT c.actor, c.id1, c.t1, c.deadline, c.bvalue, min(e.ts) AS t2
    FROM c1 c
    LEFT JOIN ev e
      ON e.actor = c.actor
     AND e.k = 2
     AND e.ts >= c.t1
     AND e.ts <= c.deadline
    GROUP BY ALL
),
entries AS (
    SELECT actor, id1, t1, bvalue, CASE WHEN level >= 2 THEN t2 END AS t2
    FROM (
        SELECT c.*, least(1 + CAST(t2 IS NOT NULL AS INTEGER), coalesce(NULL, 2)) AS level
        FROM c2 c
    )
),
counted AS (
    SELECT actor, e.level AS level, e.t1 AS t1, e.id1 AS id1, e.bvalue AS bvalue, e.t2 AS t2
    FROM (
        SELECT actor, arg_min({'level': level, 't1': t1, 'id1': id1, 'bvalue': bvalue, 't2': t2}, (-level, t1, id1)) AS e
        FROM (SELECT *, 1 + CAST(t2 IS NOT NULL AS INTEGER) AS level FROM entries)
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
