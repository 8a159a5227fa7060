"""``activityschema mcp`` as a real subprocess speaking MCP over stdio, and the keys commands."""

from __future__ import annotations

import json
import subprocess
import sys

import anyio
from mcp import Client
from mcp.client.stdio import StdioServerParameters

CLI = [sys.executable, "-m", "activityschema.interfaces.cli_entry"]


def test_stdio_session_logs_recalls_and_reports_errors(tmp_path):
    db, log = tmp_path / "stdio.duckdb", tmp_path / "mcp.log"
    params = StdioServerParameters(command=CLI[0], args=[*CLI[1:], "mcp", "--db", str(db), "--log-file", str(log),
                                                         "--log-level", "DEBUG"],
                                   env={"ACTIVITYSCHEMA_CONTEXT_MAX_STALENESS": "0"})

    async def main():
        async with Client(params, read_timeout_seconds=60) as client:
            tools = {t.name for t in (await client.list_tools()).tools}
            logged = await client.call_tool("log_event", {"activity": "claude_session_start", "customer": "s1"})
            ctx = await client.call_tool("get_context", {"customer": "s1"})
            bad = await client.call_tool("get_context", {"customer": "s1", "max_bytes": "huge"})
            unknown = await client.call_tool("get_context", {"customer": "nobody"})
            return tools, logged, ctx, bad, unknown

    tools, logged, ctx, bad, unknown = anyio.run(main)
    assert {"log_event", "get_context", "submit_query", "dataset"} <= tools
    assert logged.structured_content["status"] == "accepted"
    assert ctx.structured_content["context"]["event_count"] == 1
    assert bad.is_error and json.loads(bad.content[0].text)["error"]["code"] == "invalid_arguments"
    assert unknown.is_error and json.loads(unknown.content[0].text)["error"]["code"] == "unknown_customer"
    assert "tool log_event ok" in log.read_text()  # logs went to the file, stdout carried only frames


def test_keys_create_list_revoke(tmp_path):
    db = str(tmp_path / "keys.duckdb")
    run = lambda *a: subprocess.run([*CLI, *a, "--db", db], capture_output=True, text=True, timeout=120)  # noqa: E731
    created = run("keys", "create", "--name", "agent", "--scope", "query", "--customer", "c1", "--json")
    assert created.returncode == 0, created.stderr
    key = json.loads(created.stdout)
    assert key["key"].startswith("as_" + key["key_id"]) and key["customers"] == ["c1"]
    listed = json.loads(run("keys", "list", "--json").stdout)
    assert [k["key_id"] for k in listed] == [key["key_id"]] and "key" not in listed[0]
    assert run("keys", "revoke", key["key_id"]).returncode == 0
    assert json.loads(run("keys", "list", "--json").stdout)[0]["revoked_at"]
    bad = run("keys", "create", "--name", "x", "--scope", "root")
    assert bad.returncode == 1 and bad.stderr.startswith("error [invalid_scope]")
