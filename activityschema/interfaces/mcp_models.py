"""Typed outputs of the MCP tools (their ``outputSchema``); inputs are typed in the tool signatures."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class EventLogged(BaseModel):
    status: Literal["accepted", "duplicate"] = Field(
        description="accepted: durable (queued or stored, see durability); duplicate: already stored (only with wait).")
    activity_id: str | None
    batch_id: str | None
    durability: Literal["spooled", "stored"] = Field(
        default="stored", description="spooled: fsynced to the spool, the loader merges it shortly; stored: merged.")


class CustomerContext(BaseModel):
    customer_id: str
    version: int = Field(description="Grows by one on every change of this context.")
    updated_at: str
    stale: bool = Field(description="True when served from memory while a rebuild is pending (bounded staleness).")
    truncated: bool = Field(description="True when parts were left out to fit max_bytes (see context._truncated).")
    bytes: int = Field(description="Size of the context as compact UTF-8 JSON.")
    context: dict[str, Any]


class Insight(BaseModel):
    atom_id: str
    customer_id: str
    subject: str
    metric: str
    value: Any
    provenance_query_hash: str
    ts: str
    ttl: float | None
    expires_at: str | None


class Insights(BaseModel):
    customer_id: str
    mode: Literal["latest", "history"]
    insights: list[Insight]


class QueryTicket(BaseModel):
    ticket: str
    status: Literal["queued", "running", "done", "failed"]
    template: str
    created_at: str


class QueryTicketResult(QueryTicket):
    query_hash: str | None
    row_count: int | None
    rows: list[dict[str, Any]]
    truncated: bool = Field(description="True when rows were left out to fit max_bytes or max_rows.")
    error: dict[str, Any] | None


class Provenance(BaseModel):
    query_hash: str
    template_name: str
    query_text: str
    parameters: dict[str, Any]
    created_at: str
    created_by: str | None
    run_count: int
    recent_runs: list[dict[str, Any]]
    atoms_citing: int


class ActivityCatalog(BaseModel):
    source: str = Field(description="'catalog' (the quality module) or 'activities' (built from the stream).")
    query_hash: str | None = None
    activities: list[dict[str, Any]]


class AnalysisResult(BaseModel):
    kind: str
    query_hash: str | None
    truncated: bool
    result: dict[str, Any]
