SELECT activity_id, ts, activity, customer, anonymous_customer_id,
       CAST(feature_json AS VARCHAR) AS feature_json, revenue_impact, link, activity_occurrence
FROM activities
WHERE ts >= $since
  AND ts <= $until
  AND coalesce(customer, anonymous_customer_id) = $actor
ORDER BY ts DESC, activity_id DESC
LIMIT $limit
