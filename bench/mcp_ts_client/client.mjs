// bench_mcp.py's second client: drive `activityschema mcp` (with the bench's `noop` tool) through the
// official TypeScript SDK client over stdio; print p50/p95/p99 in ms per tool as one JSON line.
// Usage: node client.mjs CALLS CUSTOMERS_FILE LOG_EVENT_CALLS -- SERVER_COMMAND ARGS...
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { readFileSync } from "node:fs";

const sep = process.argv.indexOf("--");
const [calls, customersFile, logEventCalls] = process.argv.slice(2, sep);
const [command, ...args] = process.argv.slice(sep + 1);
const customers = readFileSync(customersFile, "utf8").split("\n").filter(Boolean).slice(0, Number(calls));
const transport = new StdioClientTransport({ command, args, env: process.env, stderr: "inherit" });
const client = new Client({ name: "bench", version: "1" });
await client.connect(transport);
const pct = (xs) => { const s = [...xs].sort((a, b) => a - b); const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))]; return { p50: at(0.5), p95: at(0.95), p99: at(0.99) }; };
async function timed(fn) { const t = process.hrtime.bigint(); const r = await fn(); if (r.isError) throw new Error(JSON.stringify(r.content)); return Number(process.hrtime.bigint() - t) / 1e6; }
// First pass: every picked context is in the server's memory afterwards (as in the Python session).
for (const c of customers) await client.callTool({ name: "get_context", arguments: { customer: c } });
const out = { noop: [], get_context: [], log_event: [] };
for (const c of customers) {
  out.noop.push(await timed(() => client.callTool({ name: "noop", arguments: {} })));
  out.get_context.push(await timed(() => client.callTool({ name: "get_context", arguments: { customer: c } })));
}
let i = 0;
for (const c of customers.slice(0, Number(logEventCalls))) {
  out.log_event.push(await timed(() => client.callTool({ name: "log_event", arguments: { activity: "claude_tool_call", customer: c, feature_json: { tool_name: "bench", i: i++ } } })));
}
await client.close();
console.log(JSON.stringify(Object.fromEntries(Object.entries(out).map(([k, v]) => [k, pct(v)]))));
