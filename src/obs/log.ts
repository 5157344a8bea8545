/**
 * Structured JSON logs on stderr, one object per line, filtered by level.
 * Runs on any thread. Never throws.
 * @module
 */

import type { LogLevel } from "../config/types.ts";

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const encoder = new TextEncoder();

let threshold = ORDER.info;
let component = "main";

/** Set the lowest level written and the `component` field of every line. */
export function configureLog(level: LogLevel, name?: string): void {
  threshold = ORDER[level];
  if (name) component = name;
}

/** Write one JSON log line to stderr when `level` passes the threshold. */
export function log(level: LogLevel, msg: string, fields?: object): void {
  if (ORDER[level] < threshold) return;
  const line = JSON.stringify({
    ts: new Date().toISOString(),
    level,
    component,
    msg,
    ...fields,
  });
  try {
    Deno.stderr.writeSync(encoder.encode(line + "\n"));
  } catch {
    // stderr gone (closed pipe): nowhere left to report; logging must never take the agent down.
  }
}
