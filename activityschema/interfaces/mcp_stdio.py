"""MCP over stdio with the pipes read and written on the event loop, not in worker threads.

The SDK's ``stdio_server`` wraps stdin and stdout in ``anyio.wrap_file``: every line read and every
write and flush is a round trip to a worker thread. A tool call costs about a dozen of them, which
measured ≈ 2 ms of a ≈ 2–4 ms no-op call on the 2-CPU machine (``bench/bench_mcp.py``). Here the
same SDK transport (its JSON-RPC parsing, its streams, its session) is fed two small adapters that
wait for the pipe with ``anyio.wait_readable`` / ``wait_writable`` and call ``os.read`` / ``os.write``
directly.

Like the SDK, the transport claims the standard streams while it serves: the protocol moves to
private duplicates of fd 0 and 1, fd 0 then reads the null device and fd 1 points at stderr, so a
stray ``print`` or a child process can never corrupt a frame; both are restored on exit.

Only pipes and sockets take this path (what an MCP client launches us with). A terminal or a regular
file falls back to the SDK's own transport: changing the blocking mode of a terminal would change it
for the shell that shares it, and a regular file is always "readable".
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from mcp.server.stdio import stdio_server

READ_CHUNK = 1 << 16
STDIN_FD, STDOUT_FD = 0, 1


class PipeLineReader:
    """Async iterator of the text lines arriving on a pipe (the SDK's transport parses each one)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._buffer = b""
        self._eof = False

    def __aiter__(self) -> PipeLineReader:
        return self

    async def __anext__(self) -> str:
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line, self._buffer = self._buffer[:end + 1], self._buffer[end + 1:]
                return line.decode("utf-8", errors="replace")
            if self._eof:
                if self._buffer:  # a last line without its newline is still a message
                    line, self._buffer = self._buffer, b""
                    return line.decode("utf-8", errors="replace")
                raise StopAsyncIteration
            await anyio.wait_readable(self._fd)
            try:
                chunk = os.read(self._fd, READ_CHUNK)  # returns what is there; never waits once readable
            except BlockingIOError:
                continue
            if chunk:
                self._buffer += chunk
            else:
                self._eof = True


class PipeWriter:
    """``write``/``flush`` of the SDK's stdout file, on a non-blocking pipe (waits only when it is full)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        os.set_blocking(fd, False)

    async def write(self, text: str) -> None:
        view = memoryview(text.encode("utf-8"))
        while view:
            try:
                view = view[os.write(self._fd, view):]
            except BlockingIOError:
                await anyio.wait_writable(self._fd)

    async def flush(self) -> None:
        """Nothing is buffered: every ``write`` went to the pipe."""


def _is_pipe_or_socket(fd: int) -> bool:
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def _claim(fd: int, diversion: int) -> int:
    """Move the stream ``fd`` to a private descriptor and point ``fd`` at ``diversion``."""
    private = os.dup(fd)
    os.set_inheritable(private, False)
    os.dup2(diversion, fd)
    return private


@asynccontextmanager
async def event_loop_stdio() -> AsyncIterator[tuple[Any, Any]]:
    """(read_stream, write_stream) of an MCP session on this process's stdin/stdout."""
    if not (_is_pipe_or_socket(STDIN_FD) and _is_pipe_or_socket(STDOUT_FD)):
        async with stdio_server() as streams:
            yield streams
        return
    sys.stdout.flush()
    null = os.open(os.devnull, os.O_RDONLY)
    try:
        private_in = _claim(STDIN_FD, null)
    finally:
        os.close(null)
    private_out = _claim(STDOUT_FD, sys.stderr.fileno())
    try:
        async with stdio_server(PipeLineReader(private_in), PipeWriter(private_out)) as streams:  # type: ignore[arg-type]
            yield streams
    finally:
        for fd, private in ((STDOUT_FD, private_out), (STDIN_FD, private_in)):
            try:
                os.set_blocking(private, True)  # as it was: fd 1 shares this file description again
                os.dup2(private, fd)
                os.close(private)
            except OSError as exc:  # pragma: no cover - nothing left to restore to
                if exc.errno != errno.EBADF:
                    raise
