WITH ev AS (
    SELECT *
    FROM (
        SELECT coalesce(customer, anonymous_customer_id) AS actor,
               ts,
               activity_id AS id,
               (activity = $s1_activity AND TRUE) AS m1,
               (activity = $s2_activity AND TRUE) AS m2,
               CAST(NULL AS VARCHAR) AS bvalue
        FROM activities
        WHERE activity = $act_0
          AND coalesce(customer, anonymous_customer_id) IS NOT NULL
        UNION ALL
        SELECT coalesce(customer, anonymous_customer_id) AS actor,
               ts,
               activity_id AS id,
               (activity = $s1_activity AND TRUE) AS m1,
               (activity = $s2_activity AND TRUE) AS m2,
               CAST(NULL AS VARCHAR) AS bvalue
        FROM activities
        WHERE activity = $act_1
          AND coalesce(customer, anonymous_customer_id) IS NOT NULL
    )
),
framed AS (
    SELECT actor, id AS id1, ts AS t1, bvalue, m1 OR m2 AS is_entry,
           min(ts) FILTER (WHERE m1) OVER w AS f1,
           min(ts) FILTER (WHERE m2) OVER w AS f2
    FROM ev
    WINDOW w AS (PARTITION BY actor ORDER BY ts RANGE BETWEEN CURRENT ROW AND to_microseconds($window_us) FOLLOWING)
),
entries AS (
    SELECT actor, id1, t1, bvalue, times[2] AS t2
    FROM (
        SELECT *, list_sort(list_filter([f1, f2], lambda x: x IS NOT NULL)) AS times
        FROM framed
        WHERE is_entry
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
labeled AS (
    SELECT *, CAST(NULL AS VARCHAR) AS bucket, false AS is_other
    FROM counted
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
    SELECT true AS is_total, CAST(NULL AS VARCHAR) AS bucket, false AS is_other,
       count(*) FILTER (WHERE level >= 1) AS reached_1,
       count(*) FILTER (WHERE level >= 2) AS reached_2,
       quantile_cont(epoch_us(t2) - epoch_us(t1), 0.5) AS median_us_2, avg(epoch_us(t2) - epoch_us(t1)) AS mean_us_2
    FROM labeled
)
SELECT s.*, {'lo': span.lo, 'width': span.width, 'converted': span.converted,
             'median_us': span.median_us, 'mean_us': span.mean_us, 'bins': histogram.bins} AS ttc
FROM summary s, span, histogram
ORDER BY s.is_total DESC, s.is_other, s.reached_1 DESC, s.bucket NULLS LAST
