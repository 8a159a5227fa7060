"""Agent memory (SEMANTICS §8): insight atoms and the per-customer context cache.

- ``atoms``   record and read insight atoms; expiry is honoured on every read; purge.
- ``context`` build a customer's context from its activities and live atoms; versioned writes with
  optimistic concurrency; ``refresh_contexts`` for the loader; truncation to a byte budget.
- ``cache``   the in-process read cache with stale-while-revalidate.
"""
