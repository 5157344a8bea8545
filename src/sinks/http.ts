/**
 * The HTTP sink: POSTs each batch to a custom endpoint as NDJSON or a JSON array, optionally
 * gzipped, with custom headers, bearer or basic auth, a per-request timeout and an optional HMAC
 * signature so the receiver can verify the sender. Every request carries the batch id
 * (`x-telemetry-batch-id`) so a receiver can drop a retried batch it already has.
 * Pipeline worker. Never retries or sleeps: 408/429/5xx and network errors are retryable
 * `SinkError`s (with the server's `Retry-After` as `retryAfterMs`); other 4xx are fatal.
 * @module
 */

import type { SinkConfig } from "../config/types.ts";
import { type Sink, type SinkBatch, type SinkDeps, SinkError } from "./contract.ts";
import { encodeNdjson } from "./ndjson.ts";
import { gzip } from "./_gzip.ts";
import { exchange, statusError } from "./_http_fetch.ts";
import { envName, httpUrl, OptionReader } from "./_options.ts";
import { RecentIds } from "./_recent_ids.ts";

/** The HTTP sink's options, parsed. Secrets named by `*Env` are read from the environment. */
export interface HttpSinkOptions {
  url: string;
  format: "ndjson" | "json-array";
  compression: "none" | "gzip";
  headers: Record<string, string>;
  timeoutMs: number;
  bearerToken?: string;
  bearerTokenEnv?: string;
  username?: string;
  password?: string;
  passwordEnv?: string;
  hmacSecret?: string;
  hmacSecretEnv?: string;
  signatureHeader: string;
}

/** Headers the sink sets itself; a `headers` block may not override them. */
const RESERVED_HEADERS = [
  "authorization",
  "content-encoding",
  "content-length",
  "content-type",
  "host",
  "x-telemetry-batch-id",
  "x-telemetry-records",
  "x-telemetry-timestamp",
];
const TOKEN_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Parse the HTTP sink's options (kebab-case keys as written in KDL). Throws `SinkError`
 * (`sink_config`) listing every problem.
 *
 * @example
 * ```ts
 * parseHttpSinkOptions({ url: "https://collector.example.com/ingest", compression: "gzip" });
 * ```
 */
export function parseHttpSinkOptions(options: Record<string, unknown>): HttpSinkOptions {
  const r = new OptionReader("http sink", options);
  const o: HttpSinkOptions = {
    url: r.string("url", { required: true, rule: httpUrl }),
    format: r.choice("format", ["ndjson", "json-array"] as const),
    compression: r.choice("compression", ["none", "gzip"] as const),
    headers: r.stringMap("headers"),
    timeoutMs: r.int("timeout-ms", 10_000, { min: 1, max: 600_000 }),
    bearerToken: r.string("bearer-token"),
    bearerTokenEnv: r.string("bearer-token-env", { rule: envName }),
    username: r.string("username"),
    password: r.string("password"),
    passwordEnv: r.string("password-env", { rule: envName }),
    hmacSecret: r.string("hmac-secret"),
    hmacSecretEnv: r.string("hmac-secret-env", { rule: envName }),
    signatureHeader: r.string("signature-header", { rule: headerName }) ??
      "x-telemetry-signature",
  };
  for (const name of Object.keys(o.headers)) {
    const why = headerName(name);
    if (why) r.problem(`\`headers.${name}\` ${why}`);
    if (RESERVED_HEADERS.includes(name.toLowerCase())) {
      r.problem(`\`headers.${name}\` is set by the sink itself; remove it`);
    }
  }
  const bearer = o.bearerToken !== undefined || o.bearerTokenEnv !== undefined;
  const basic = o.username !== undefined;
  if (o.bearerToken !== undefined && o.bearerTokenEnv !== undefined) {
    r.problem("set `bearer-token` or `bearer-token-env`, not both");
  }
  if (o.hmacSecret !== undefined && o.hmacSecretEnv !== undefined) {
    r.problem("set `hmac-secret` or `hmac-secret-env`, not both");
  }
  if (bearer && basic) r.problem("use bearer auth or basic auth (`username`), not both");
  const passwords = Number(o.password !== undefined) + Number(o.passwordEnv !== undefined);
  if (basic && passwords !== 1) r.problem("`username` needs `password` or `password-env`");
  if (!basic && passwords > 0) r.problem("`password` needs `username`");
  r.finish();
  return o;
}

/** Environment variables the HTTP sink reads (for the permission list). */
export function httpSinkEnvVars(options: Record<string, unknown>): string[] {
  return ["bearer-token-env", "password-env", "hmac-secret-env"]
    .map((k) => options[k])
    .filter((v): v is string => typeof v === "string");
}

/**
 * Create an HTTP sink from its config section.
 *
 * @example
 * ```ts
 * const sink = createHttpSink(cfg, { log });
 * await sink.open(); // reads secrets named by *-env options
 * await sink.write({ id: batchId, records });
 * ```
 */
export function createHttpSink(cfg: SinkConfig, deps: SinkDeps): Sink {
  return new HttpSink(cfg.name, parseHttpSinkOptions(cfg.options), deps);
}

/** The body of one batch, encoded once and reused by retries. */
interface Payload {
  body: Uint8Array;
  records: number;
}

class HttpSink implements Sink {
  readonly name: string;
  readonly #o: HttpSinkOptions;
  #authorization: string | undefined;
  #hmacKey: CryptoKey | undefined;
  readonly #payloads = new WeakMap<SinkBatch, Promise<Payload>>();
  readonly #recent = new RecentIds();

  constructor(name: string, opts: HttpSinkOptions, _deps: SinkDeps) {
    this.name = name;
    this.#o = opts;
  }

  async open(): Promise<void> {
    const o = this.#o;
    const token = o.bearerToken ?? secretFromEnv(o.bearerTokenEnv, "bearer-token-env");
    if (token !== undefined) this.#authorization = `Bearer ${token}`;
    if (o.username !== undefined) {
      const password = o.password ?? secretFromEnv(o.passwordEnv, "password-env") ?? "";
      this.#authorization = `Basic ${base64(`${o.username}:${password}`)}`;
    }
    const secret = o.hmacSecret ?? secretFromEnv(o.hmacSecretEnv, "hmac-secret-env");
    if (secret !== undefined) {
      this.#hmacKey = await crypto.subtle.importKey(
        "raw",
        new TextEncoder().encode(secret),
        { name: "HMAC", hash: "SHA-256" },
        false,
        ["sign"],
      );
    }
  }

  async write(batch: SinkBatch): Promise<number> {
    if (this.#recent.has(batch.id) || batch.records.length === 0) return 0;
    const payload = await this.#payload(batch);
    const headers = await this.#headers(batch.id, payload);
    const request = new Request(this.#o.url, {
      method: "POST",
      headers,
      body: payload.body as BodyInit,
    });
    const reply = await exchange(request, this.#o.timeoutMs, `http sink ${this.name}`);
    if (reply.status < 200 || reply.status >= 300) {
      const hint = reply.status === 413 ? 'lower `batch-size` or set compression "gzip"' : "";
      throw statusError(reply, `http sink ${this.name}`, hint && `${reply.body} (${hint})`);
    }
    this.#recent.add(batch.id);
    return payload.body.length;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  #payload(batch: SinkBatch): Promise<Payload> {
    let p = this.#payloads.get(batch);
    if (p === undefined) {
      p = encodePayload(batch, this.#o);
      this.#payloads.set(batch, p);
      // A failed encoding is not cached: the next attempt encodes again.
      p.catch(() => this.#payloads.delete(batch));
    }
    return p;
  }

  async #headers(batchId: string, payload: Payload): Promise<Headers> {
    const h = new Headers(this.#o.headers);
    h.set(
      "content-type",
      this.#o.format === "ndjson" ? "application/x-ndjson" : "application/json",
    );
    if (this.#o.compression === "gzip") h.set("content-encoding", "gzip");
    if (this.#authorization !== undefined) h.set("authorization", this.#authorization);
    h.set("x-telemetry-batch-id", batchId);
    h.set("x-telemetry-records", String(payload.records));
    if (this.#hmacKey !== undefined) {
      const timestamp = String(Math.floor(Date.now() / 1000));
      h.set("x-telemetry-timestamp", timestamp);
      const mac = await signPayload(this.#hmacKey, timestamp, batchId, payload.body);
      h.set(this.#o.signatureHeader, `v1=${mac}`);
    }
    return h;
  }
}

/**
 * The signature: hex HMAC-SHA256 over `v1:<timestamp>:<batch id>:` followed by the body bytes
 * exactly as sent (after gzip). Exported for receivers written in TypeScript and for tests.
 */
export async function signPayload(
  key: CryptoKey,
  timestamp: string,
  batchId: string,
  body: Uint8Array,
): Promise<string> {
  const head = new TextEncoder().encode(`v1:${timestamp}:${batchId}:`);
  const message = new Uint8Array(head.length + body.length);
  message.set(head);
  message.set(body, head.length);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, message));
  return Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function encodePayload(batch: SinkBatch, o: HttpSinkOptions): Promise<Payload> {
  const raw = o.format === "ndjson"
    ? encodeNdjson(batch)
    : new TextEncoder().encode(JSON.stringify(batch.records));
  const body = o.compression === "gzip" ? await gzip(raw) : raw;
  return { body, records: batch.records.length };
}

function secretFromEnv(name: string | undefined, key: string): string | undefined {
  if (name === undefined) return undefined;
  const value = Deno.env.get(name);
  if (value === undefined || value === "") {
    throw new SinkError(`http sink: \`${key}\` names ${name}, which is not set`, {
      code: "sink_config",
      retryable: false,
    });
  }
  return value;
}

function headerName(v: string): string | undefined {
  return TOKEN_RE.test(v) ? undefined : "must be an HTTP header name";
}

function base64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  return btoa(String.fromCharCode(...bytes));
}
