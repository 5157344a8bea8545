/**
 * Test helpers for the sink tests: records, a scripted in-memory sink (a test double for the
 * sink contract that fails or hangs on command), log capture and bounded polling.
 * Tests only.
 * @module
 */

import type { SinkConfig } from "../../src/config/types.ts";
import type { TelemetryRecord } from "../../src/record/schema.ts";
import { type Sink, type SinkBatch, SinkError } from "../../src/sinks/contract.ts";

/** A minimal valid record; `seq` lands in `event_id` and `request.correlation_id`. */
export function makeRecord(seq: number, events = 3): TelemetryRecord {
  return {
    schema_version: 1,
    event_id: `evt-${String(seq).padStart(8, "0")}`,
    timestamp: new Date(Date.UTC(2025, 0, 1, 0, 0, 0, seq % 1000)).toISOString(),
    sample_rate: 1,
    partial: false,
    events,
    agent: { id: "agent-1", version: "0.1.0", host: "test" },
    request: { correlation_id: `c-${seq}`, method: "GET", path: `/items/${seq}` },
    response: { status: 200, status_class: "2xx" },
  };
}

/** What the scripted sink does on its next write. */
export type Step = "ok" | "retryable" | "fatal" | "plain_error" | "hang";

/** An in-memory sink that follows a script of steps, then `fallback`. */
export class ScriptedSink implements Sink {
  readonly name: string;
  /** Batches written successfully, in order. */
  readonly written: SinkBatch[] = [];
  /** Every write attempt's batch id, in order. */
  readonly attempts: string[] = [];
  opened = 0;
  closed = 0;
  script: Step[];
  fallback: Step;

  constructor(script: Step[] = [], fallback: Step = "ok", name = "scripted") {
    this.name = name;
    this.script = script;
    this.fallback = fallback;
  }

  open(): Promise<void> {
    this.opened++;
    return Promise.resolve();
  }

  write(batch: SinkBatch): Promise<number> {
    this.attempts.push(batch.id);
    const step = this.script.shift() ?? this.fallback;
    switch (step) {
      case "ok":
        this.written.push(batch);
        return Promise.resolve(batch.records.length * 10);
      case "retryable":
        return Promise.reject(
          new SinkError("backend busy", { code: "sink_unavailable", retryable: true }),
        );
      case "fatal":
        return Promise.reject(
          new SinkError("backend said no", { code: "sink_backend_rejected", retryable: false }),
        );
      case "plain_error":
        return Promise.reject(new TypeError("bug in sink"));
      case "hang":
        return new Promise<number>(() => {});
    }
  }

  close(): Promise<void> {
    this.closed++;
    return Promise.resolve();
  }

  recordsWritten(): number {
    return this.written.reduce((n, b) => n + b.records.length, 0);
  }
}

/** A captured log line. */
export interface LogLine {
  level: string;
  msg: string;
  fields: Record<string, unknown>;
}

/** A `log` function that records lines instead of printing them. */
export function captureLog(): {
  lines: LogLine[];
  log: (level: "debug" | "info" | "warn" | "error", msg: string, fields?: object) => void;
} {
  const lines: LogLine[] = [];
  return {
    lines,
    log: (level, msg, fields) =>
      lines.push({ level, msg, fields: { ...(fields ?? {}) } as Record<string, unknown> }),
  };
}

/** Poll `cond` every few ms; throws (fails the test) when it is still false after `limitMs`. */
export async function waitFor(cond: () => boolean, what: string, limitMs = 10_000): Promise<void> {
  const start = performance.now();
  while (!cond()) {
    if (performance.now() - start > limitMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Resolve `p`, or fail the test when it takes longer than `limitMs` (a hang guard). */
export async function withinLimit<T>(p: Promise<T>, what: string, limitMs = 10_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish`)), limitMs);
  });
  try {
    return await Promise.race([p, guard]);
  } finally {
    clearTimeout(timer);
  }
}

/** A file sink config for `dir` with extra options. */
export function fileSinkConfig(dir: string, options: Record<string, unknown> = {}): SinkConfig {
  return {
    name: "file",
    type: "file",
    batchSize: 100,
    flushIntervalMs: 1000,
    options: { directory: dir, ...options },
  };
}

/** Names in `dir` ending in `suffix`, sorted. */
export async function listNames(dir: string, suffix = ".ndjson"): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.name.endsWith(suffix)) names.push(e.name);
  return names.sort();
}

/** All lines of the published files in `dir`, parsed, in name order. */
export async function readAllRecords(dir: string): Promise<TelemetryRecord[]> {
  const out: TelemetryRecord[] = [];
  for (const name of await listNames(dir)) {
    const text = await Deno.readTextFile(`${dir}/${name}`);
    if (!text.endsWith("\n")) throw new Error(`${name} does not end with a newline`);
    for (const line of text.slice(0, -1).split("\n")) out.push(JSON.parse(line));
  }
  return out;
}
