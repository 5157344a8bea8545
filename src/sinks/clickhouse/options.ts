/**
 * The ClickHouse sink's options: kebab-case keys as written in KDL, their defaults and checks.
 * Pipeline worker (at start-up). Pure except for reading the password from the environment
 * (`password-env`) or a file (`password-file`). Throws `SinkError` (`sink_config`) naming the sink
 * and every bad key at once.
 * @module
 */

import { SinkError } from "../contract.ts";

/** The parsed options of one ClickHouse sink. */
export interface ClickHouseSinkOptions {
  /** HTTP(S) interface, e.g. `http://127.0.0.1:8123`. */
  url: string;
  database: string;
  table: string;
  username: string;
  /** Empty when the user has no password. Never logged. */
  password: string;
  /** Insert with `async_insert=1, wait_for_async_insert=1` where the server has it. */
  asyncInsert: boolean;
  /** Create the database and table at open (and after the table is dropped) when missing. */
  createTable: boolean;
  /** Per-request timeout of the HTTP client (ms). */
  requestTimeoutMs: number;
  /** Gzip request bodies (`Content-Encoding: gzip`). */
  compress: boolean;
}

/** Defaults of the optional keys. */
export const CLICKHOUSE_SINK_DEFAULTS = Object.freeze({
  database: "default",
  table: "telemetry",
  username: "default",
  password: "",
  asyncInsert: false,
  createTable: false,
  requestTimeoutMs: 30_000,
  compress: false,
});

const KEYS = [
  "url",
  "database",
  "table",
  "username",
  "password",
  "password-env",
  "password-file",
  "async-insert",
  "create-table",
  "request-timeout-ms",
  "compression",
];
/** Shared keys a loader may leave in `options`; the runner reads them from `SinkConfig`. */
const SHARED_KEYS = new Set(["name", "batch-size", "flush-interval-ms"]);
const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Parse one ClickHouse sink block's options.
 *
 * @example
 * ```ts
 * parseClickHouseOptions("ch", { url: "http://127.0.0.1:8123", table: "requests" });
 * ```
 */
export function parseClickHouseOptions(
  sink: string,
  options: Record<string, unknown>,
): ClickHouseSinkOptions {
  const problems: string[] = [];
  for (const key of Object.keys(options)) {
    if (!KEYS.includes(key) && !SHARED_KEYS.has(key)) {
      problems.push(`unknown option \`${key}\`; known options: ${KEYS.join(", ")}`);
    }
  }
  const o = new Reader(options, problems);
  const D = CLICKHOUSE_SINK_DEFAULTS;
  const parsed: ClickHouseSinkOptions = {
    url: o.url(),
    database: o.name("database", D.database),
    table: o.name("table", D.table),
    username: o.text("username", D.username),
    password: o.password(),
    asyncInsert: o.bool("async-insert", D.asyncInsert),
    createTable: o.bool("create-table", D.createTable),
    requestTimeoutMs: o.int("request-timeout-ms", D.requestTimeoutMs, 100, 3_600_000),
    compress: o.choice("compression", ["none", "gzip"], "none") === "gzip",
  };
  if (problems.length > 0) {
    throw new SinkError(`clickhouse sink ${sink}: ${problems.join("; ")}`, {
      code: "sink_config",
      retryable: false,
    });
  }
  return parsed;
}

class Reader {
  constructor(readonly options: Record<string, unknown>, readonly problems: string[]) {}

  url(): string {
    const v = this.options.url;
    if (v === undefined) {
      this.problems.push('`url` is required, e.g. url "http://127.0.0.1:8123"');
      return "";
    }
    try {
      const u = new URL(String(v));
      if (typeof v === "string" && (u.protocol === "http:" || u.protocol === "https:")) return v;
    } catch {
      // reported below with the value
    }
    this.problems.push(`\`url\` must be an http:// or https:// URL, got ${show(v)}`);
    return "";
  }

  name(key: string, fallback: string): string {
    const v = this.options[key] ?? fallback;
    if (typeof v === "string" && NAME_RE.test(v)) return v;
    this.problems.push(
      `\`${key}\` must be letters, digits or \`_\` (not a digit first), got ${show(v)}`,
    );
    return fallback;
  }

  text(key: string, fallback: string): string {
    const v = this.options[key] ?? fallback;
    if (typeof v === "string") return v;
    this.problems.push(`\`${key}\` must be a string, got ${show(v)}`);
    return fallback;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.options[key] ?? fallback;
    if (typeof v === "boolean") return v;
    this.problems.push(`\`${key}\` must be true or false, got ${show(v)}`);
    return fallback;
  }

  int(key: string, fallback: number, min: number, max: number): number {
    const v = this.options[key] ?? fallback;
    if (typeof v === "number" && Number.isSafeInteger(v) && v >= min && v <= max) return v;
    this.problems.push(`\`${key}\` must be an integer between ${min} and ${max}, got ${show(v)}`);
    return fallback;
  }

  choice(key: string, values: string[], fallback: string): string {
    const v = this.options[key] ?? fallback;
    if (typeof v === "string" && values.includes(v)) return v;
    this.problems.push(`\`${key}\` must be one of ${values.join(", ")}, got ${show(v)}`);
    return fallback;
  }

  /** `password`, `password-env` or `password-file`: at most one. */
  password(): string {
    const given = ["password", "password-env", "password-file"].filter((k) => k in this.options);
    if (given.length > 1) {
      this.problems.push(`give only one of ${given.map((k) => `\`${k}\``).join(", ")}`);
      return "";
    }
    if (given[0] === "password-env") return this.#fromEnv(this.text("password-env", ""));
    if (given[0] === "password-file") return this.#fromFile(this.text("password-file", ""));
    return this.text("password", CLICKHOUSE_SINK_DEFAULTS.password);
  }

  #fromEnv(name: string): string {
    const value = name === "" ? undefined : Deno.env.get(name);
    if (value === undefined) this.problems.push(`\`password-env\`: variable ${name} is not set`);
    return value ?? "";
  }

  #fromFile(path: string): string {
    try {
      return Deno.readTextFileSync(path).replace(/\r?\n$/, "");
    } catch (err) {
      this.problems.push(`\`password-file\`: cannot read ${path}: ${(err as Error).message}`);
      return "";
    }
  }
}

function show(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}
