"""Streaming commands: ``spool status`` and ``loader`` (drain the spool into the store)."""

from __future__ import annotations

import signal
import threading
from datetime import UTC, datetime
from pathlib import Path

import typer

from ...errors import StoreError
from ...ingest.loader import Loader, LoaderStats
from ...ingest.merge import LoadReport
from ...ingest.spool import Spool, default_spool_dir
from ...ingest.spool_view import backlog
from ...settings import resolve
from ...store.backend import open_backend
from ...store.duckdb import DuckDBStore
from ._common import DbOption, JsonOption, console, db_path, err_console, print_json, print_table

SpoolDirOption = typer.Option(None, "--spool-dir", help="Spool directory (default: <db>.spool).")
OPEN_RETRY_FIRST_SECONDS = 0.2
OPEN_RETRY_MAX_SECONDS = 10.0
ONCE_RETRIES = 5


def _spool(db: str | None, spool_dir: str | None) -> Spool:
    return Spool(default_spool_dir(db_path(db), spool_dir))


def status(db: str | None = DbOption, spool_dir: str | None = SpoolDirOption,
           as_json: bool = JsonOption) -> None:
    """Backlog, lag and segments of the spool (reads the spool only; the store may be in use)."""
    spool = _spool(db, spool_dir)
    if not spool.dir.is_dir():
        console.print(f"No spool at [bold]{spool.dir}[/bold] (nothing logged yet).")
        return
    info = backlog(spool, with_loader=True)
    if as_json:
        print_json(info.to_dict())
        return
    loader = f"running (pid {info.loader_pid})" if info.loader_pid else "not running"
    console.print(
        f"Spool [bold]{info.directory}[/bold]: {info.pending_bytes:,} bytes pending · "
        f"lag {info.lag_seconds:.1f} s · {len(info.segments)} segment(s) · loader {loader}"
    )
    rows = [[s.name, "sealed" if s.sealed else "active", f"{s.size:,}", f"{s.committed:,}",
             f"{s.pending:,}"] for s in info.segments]
    if rows:
        print_table(None, ["segment", "state", "bytes", "loaded", "pending"], rows)


def _open_store(path: str, stop: threading.Event, retries: int | None) -> DuckDBStore | None:
    """Open the store, retrying with backoff while another process holds it."""
    delay, attempt = OPEN_RETRY_FIRST_SECONDS, 0
    while True:
        try:
            if resolve("backend") != "duckdb":  # the warehouse: the loader merges there
                return open_backend()  # type: ignore[return-value]
            return DuckDBStore(path)
        except StoreError as exc:
            attempt += 1
            if retries is not None and attempt > retries:
                raise
            err_console.print(f"store unavailable ({exc.message}); retrying in {delay:.1f} s",
                              soft_wrap=True, markup=False)
            if stop.wait(delay):
                return None
            delay = min(delay * 2, OPEN_RETRY_MAX_SECONDS)


def _summary(stats: LoaderStats, spool: Path) -> str:
    return (f"spool {spool}: {stats.batches:,} batch(es), submitted {stats.submitted:,} · "
            f"accepted {stats.accepted:,} · duplicate {stats.duplicate:,} · rejected {stats.rejected:,}"
            f" · {stats.segments_retired:,} segment(s) retired")


def loader(
    db: str | None = DbOption,
    spool_dir: str | None = SpoolDirOption,
    once: bool = typer.Option(False, "--once/--follow", help="Drain what is there and exit, or keep loading (default)."),
    batch_events: int | None = typer.Option(None, "--batch-events", help="Largest batch (default: setting loader_batch_events)."),
    archive: str | None = typer.Option(None, "--archive", help="Move loaded segments here instead of deleting them."),
    poll_ms: int = typer.Option(50, "--poll-ms", help="How often to look for new events when idle."),
    verbose: bool = typer.Option(False, "--verbose", help="Print one line per batch."),
    as_json: bool = JsonOption,
) -> None:
    """Load the spool into the store. This process owns the store file while it runs."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    store = _open_store(db_path(db), stop, ONCE_RETRIES if once else None)
    if store is None:
        return
    try:
        warehouse = getattr(store, "dialect", "duckdb") != "duckdb"
        spool = (None if warehouse and not (spool_dir or resolve("spool_dir"))  # Loader explains
                 else Spool(default_spool_dir(store.path, spool_dir)))
        worker = Loader(store, spool, batch_events=batch_events, archive_dir=archive,
                        poll_seconds=poll_ms / 1000, max_retries=ONCE_RETRIES if once else None)
        if verbose:
            worker.add_listener(_print_batch)
        stats = worker.run_once() if once else worker.follow(stop)
    finally:
        store.close()
    if as_json:
        print_json({"spool": str(spool.dir), **stats.to_dict()})
    else:
        console.print(_summary(stats, spool.dir), soft_wrap=True, markup=False)


def _print_batch(report: LoadReport) -> None:
    now = datetime.now(UTC).strftime("%H:%M:%S")
    console.print(f"{now} {report.source}: submitted {report.submitted:,} · accepted {report.accepted:,} · "
                  f"duplicate {report.duplicate:,} · rejected {report.rejected:,}", soft_wrap=True, markup=False)


def register(app: typer.Typer) -> None:
    spool_app = typer.Typer(help="The durable spool between loggers and the store.",
                            no_args_is_help=True)
    spool_app.command("status")(status)
    app.add_typer(spool_app, name="spool")
    app.command("loader")(loader)

