WITH ev AS (
    SELECT *
    FROM (
        SELECT coalesce(customer, anonymous_customer_id) AS actor,
               ts,
               activity_id AS id,
               (activity = $s1_activity AND TRUE) AS m1,
               (activity = $s2_activity AND coalesce(json_extract_string(feature_json, $s2_f0_path) = $s2_f0_value, false)) AS m2,
               (activity = $x1_activity AND TRUE) AS x1,
               json_extract_string(feature_json, $bk_path) AS bvalue
        FROM activities
        WHERE activity = $act_0
          AND coalesce(customer, anonymous_customer_id) IS NOT NULL
          AND ts >= $entry_start
      AND ts < $entry_end + to_microseconds($window_us)
        UNION ALL
        SELECT coalesce(customer, anonymous_customer_id) AS actor,
               ts,
               activity_id AS id,
               (activity = $s1_activity AND TRUE) AS m1,
               (activity = $s2_activity AND coalesce(json_extract_string(feature_json, $s2_f0_path) = $s2_f0_value, false)) AS m2,
               (activity = $x1_activity AND TRUE) AS x1,
               json_extract_string(feature_json, $bk_path) AS bvalue
        FROM activities
        WHERE activity = $act_1
          AND coalesce(customer, anonymous_customer_id) IS NOT NULL
          AND ts >= $entry_start
      AND ts < $entry_end + to_microseconds($window_us)
    )
),
c1 AS (
    SELECT actor, id AS id1, ts AS t1, ts + to_microseconds($window_us) AS deadline, bvalue, ts AS t_last, [id] AS used
    FROM ev
    WHERE m1
      AND ts < $entry_end
),
p2 AS (
    SELECT c.id1, any_value(c.actor) AS actor, any_value(c.t1) AS t1, any_value(c.deadline) AS deadline,
           any_value(c.bvalue) AS bvalue, any_value(c.t_last) AS t_prev, any_value(c.used) AS used_prev,
           min({'ts': e.ts, 'later': 0, 'id': e.id}) FILTER (WHERE e.id IS NOT NULL) AS pick
    FROM c1 c
    LEFT JOIN ev e
      ON e.actor = c.actor
     AND e.m2
     AND e.ts >= c.t_last
     AND e.ts <= c.deadline
     AND NOT list_contains(c.used, e.id)
    GROUP BY c.id1
),
c2 AS (
    SELECT * EXCLUDE (pick, t_prev, used_prev),
           pick.ts AS t2,
           pick.ts AS t_last,
           CASE WHEN pick.ts = t_prev THEN list_append(used_prev, pick.id) ELSE [pick.id] END AS used
    FROM p2
),
xcut AS (
    SELECT c.actor, c.t1, c.id1,
           min(CASE WHEN e.x1 AND e.ts > c.t1 AND e.ts < c.t2 THEN 1 END) AS cut
    FROM c2 c
    JOIN ev e
      ON e.actor = c.actor
     AND (e.x1)
     AND e.ts > c.t1
     AND e.ts < c.deadline
    GROUP BY c.actor, c.t1, c.id1
),
entries AS (
    SELECT actor, id1, t1, bvalue, CASE WHEN level >= 2 THEN t2 END AS t2
    FROM (
        SELECT c.*, least(1 + CAST(t2 IS NOT NULL AS INTEGER), coalesce(x.cut, 2)) AS level
        FROM c2 c
        LEFT JOIN xcut x USING (actor, t1, id1)
    )
),
counted AS (
    SELECT actor, e.level AS level, e.id1 AS id1, e.bvalue AS bvalue, e.t1 AS t1, e.t2 AS t2
    FROM (
        SELECT actor, arg_min({'level': level, 'id1': id1, 'bvalue': bvalue, 't1': t1, 't2': t2}, (-level, t1, id1)) AS e
        FROM (SELECT *, 1 + CAST(t2 IS NOT NULL AS INTEGER) AS level FROM entries)
        GROUP BY actor
    )
),
top_buckets AS (
    SELECT bvalue, count(*) AS actors
    FROM counted
    GROUP BY bvalue
    ORDER BY actors DESC, bvalue NULLS LAST
    LIMIT $breakdown_limit
),
labeled AS (
    SELECT c.*,
           CASE WHEN b.actors IS NULL THEN $other_bucket ELSE c.bvalue END AS bucket,
           b.actors IS NULL AS is_other
    FROM counted c
    LEFT JOIN top_buckets b ON b.bvalue IS NOT DISTINCT FROM c.bvalue
),
converted AS (
    SELECT epoch_us(t2) - epoch_us(t1) AS d
    FROM counted
    WHERE level = 2
),
span AS (
    SELECT min(d) AS lo, greatest(1, CAST(ceil((max(d) - min(d) + 1) / $bins) AS BIGINT)) AS width,
           count(*) AS converted, quantile_cont(d, 0.5) AS median_us, avg(d) AS mean_us
    FROM converted
),
histogram AS (
    SELECT list({'bin': bin, 'count': actors} ORDER BY bin) AS bins
    FROM (
        SELECT least((c.d - s.lo) // s.width, $bins - 1) AS bin, count(*) AS actors
        FROM converted c, span s
        GROUP BY bin
    )
),
summary AS (
    SELECT GROUPING(bucket, is_other) <> 0 AS is_total, bucket, is_other,
       count(*) FILTER (WHERE level >= 1) AS reached_1,
       count(*) FILTER (WHERE level >= 2) AS reached_2,
       quantile_cont(epoch_us(t2) - epoch_us(t1), 0.5) AS median_us_2, avg(epoch_us(t2) - epoch_us(t1)) AS mean_us_2
    FROM labeled
    GROUP BY GROUPING SETS ((), (bucket, is_other))
)
SELECT s.*, {'lo': span.lo, 'width': span.width, 'converted': span.converted,
             'median_us': span.median_us, 'mean_us': span.mean_us, 'bins': histogram.bins} AS ttc
FROM summary s, span, histogram
ORDER BY s.is_total DESC, s.is_other, s.reached_1 DESC, s.bucket NULLS LAST
