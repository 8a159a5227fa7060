WITH ev AS (
    SELECT *, CASE WHEN m1 THEN 1 WHEN m2 THEN 2 WHEN m3 THEN 3 END AS k
    FROM (
        SELECT coalesce(customer, anonymous_customer_id) AS actor,
               ts,
               CAST(NULL AS VARCHAR) AS id,
               (activity = $s1_activity AND TRUE) AS m1,
               (activity = $s2_activity AND TRUE) AS m2,
               (activity = $s3_activity AND TRUE) AS m3,
               CAST(NULL AS VARCHAR) AS bvalue
        FROM activities
        WHERE activity = ANY([$act_0, $act_1, $act_2])
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
c3 AS (
    SELECT c.actor, c.t1, any_value(c.t2) AS t2, min(e.ts) AS t3
    FROM c2 c
    LEFT JOIN (SELECT actor, ts FROM ev WHERE k = 3) e
      ON e.actor = c.actor
     AND e.ts >= c.t2
     AND e.ts <= c.t1 + to_microseconds($window_us)
    GROUP BY c.actor, c.t1
),
chains AS (
    SELECT *, t1 + to_microseconds($window_us) AS deadline, '' AS id1, CAST(NULL AS VARCHAR) AS bvalue
    FROM c3
),
entries AS (
    SELECT actor, id1, t1, bvalue, CASE WHEN level >= 2 THEN t2 END AS t2, CASE WHEN level >= 3 THEN t3 END AS t3
    FROM (
        SELECT c.*, least(1 + CAST(t2 IS NOT NULL AS INTEGER) + CAST(t3 IS NOT NULL AS INTEGER), coalesce(NULL, 3)) AS level
        FROM chains c
    )
),
counted AS (
    SELECT actor, t1, t2, t3, '' AS id1, CAST(NULL AS VARCHAR) AS bvalue, level
    FROM (
        SELECT actor, max(level) AS level, arg_max_null(t1, pick) AS t1, arg_max_null(t2, pick) AS t2, arg_max_null(t3, pick) AS t3
        FROM (SELECT *, (CAST(level AS HUGEINT) << 64) - epoch_us(t1) AS pick
              FROM (SELECT *, 1 + CAST(t2 IS NOT NULL AS INTEGER) + CAST(t3 IS NOT NULL AS INTEGER) AS level FROM entries))
        GROUP BY actor
    )
),
labeled AS (
    SELECT *, CAST(NULL AS VARCHAR) AS bucket, false AS is_other
    FROM counted
),
converted AS (
    SELECT epoch_us(t3) - epoch_us(t1) AS d
    FROM counted
    WHERE level = 3
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
    SELECT true AS is_total, CAST(NULL AS VARCHAR) AS bucket, false AS is_other,
       count(*) FILTER (WHERE level >= 1) AS reached_1,
       count(*) FILTER (WHERE level >= 2) AS reached_2,
       count(*) FILTER (WHERE level >= 3) AS reached_3,
       quantile_cont(epoch_us(t2) - epoch_us(t1), 0.5) AS median_us_2, avg(epoch_us(t2) - epoch_us(t1)) AS mean_us_2,
       quantile_cont(epoch_us(t3) - epoch_us(t2), 0.5) AS median_us_3, avg(epoch_us(t3) - epoch_us(t2)) AS mean_us_3
    FROM labeled
)
SELECT s.*, {'lo': span.lo, 'width': span.width, 'converted': span.converted,
             'median_us': span.median_us, 'mean_us': span.mean_us, 'bins': histogram.bins} AS ttc
FROM summary s, span, histogram
ORDER BY s.is_total DESC, s.is_other, s.reached_1 DESC, s.bucket NULLS LAST
