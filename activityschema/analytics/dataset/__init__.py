"""The dataset builder: a cohort activity with activities appended in time (SEMANTICS §4)."""

from __future__ import annotations

from .query import DatasetRequest
from .runner import DATASET_TEMPLATE, build_dataset, check_activities, parse_request
from .sql import build_dataset_sql

__all__ = ["DATASET_TEMPLATE", "DatasetRequest", "build_dataset", "build_dataset_sql", "check_activities",
           "parse_request"]
