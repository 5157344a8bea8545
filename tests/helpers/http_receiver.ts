/**
 * A real HTTP receiver for the HTTP sink's tests: a `Deno.serve` server on loopback that checks
 * every request (method, content type, encoding, auth, HMAC signature, batch id), decodes the
 * batch (NDJSON or JSON array, gzip or not), keeps it, and injects failures on command: a status
 * (with `Retry-After`), a slow answer, or a real outage (the listener closed and reopened on the
 * same port). Test-only helper.
 * @module
 */

import { LocalHttpServer } from "./local_http_server.ts";
import { gunzipSync } from "node:zlib";

/** What the receiver does with one request. */
export type Fault =
  | { status: number; retryAfter?: string; body?: string }
  | { delayMs: number };

/** One accepted (2xx) request. */
export interface ReceivedBatch {
  batchId: string;
  records: Record<string, unknown>[];
  headers: Headers;
  /** Bytes on the wire (compressed when gzipped). */
  wireBytes: number;
  at: number;
}

/** One request of any outcome, for timing assertions. */
export interface Attempt {
  batchId: string | null;
  status: number;
  at: number;
}

export interface ReceiverOptions {
  /** Expected `authorization` header value; others get 401. */
  authorization?: string;
  /** HMAC secret: requests without a valid `v1=` signature get 401. */
  hmacSecret?: string;
  signatureHeader?: string;
  /** Port to listen on; 0 picks one. */
  port?: number;
}

/**
 * Start a receiver on 127.0.0.1.
 *
 * @example
 * ```ts
 * await using rx = await startReceiver();
 * rx.faults.push({ status: 503, retryAfter: "1" });
 * ```
 */
export async function startReceiver(opts: ReceiverOptions = {}): Promise<HttpReceiver> {
  const rx = new HttpReceiver(opts);
  await rx.start(opts.port ?? 0);
  return rx;
}

export class HttpReceiver extends LocalHttpServer {
  /** Faults to apply, first to last, one per request; then requests succeed. */
  readonly faults: Fault[] = [];
  /** Accepted batches in arrival order (a batch id seen before is not kept twice). */
  readonly batches: ReceivedBatch[] = [];
  readonly attempts: Attempt[] = [];
  /** Requests that broke the contract (wrong content type, bad signature, …). */
  readonly violations: string[] = [];
  /** Accepted requests whose batch id had been accepted before. */
  duplicates = 0;
  #opts: ReceiverOptions;
  #hmacKey: Promise<CryptoKey> | undefined;

  constructor(opts: ReceiverOptions) {
    super();
    this.#opts = opts;
    if (opts.hmacSecret !== undefined) {
      this.#hmacKey = crypto.subtle.importKey(
        "raw",
        new TextEncoder().encode(opts.hmacSecret),
        { name: "HMAC", hash: "SHA-256" },
        false,
        ["verify"],
      );
    }
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/ingest`;
  }

  /** All records accepted, in arrival order. */
  records(): Record<string, unknown>[] {
    return this.batches.flatMap((b) => b.records);
  }

  protected async handle(req: Request): Promise<Response> {
    const batchId = req.headers.get("x-telemetry-batch-id");
    const at = performance.now();
    const body = new Uint8Array(await req.arrayBuffer());
    const fault = this.faults.shift();
    if (fault !== undefined && "delayMs" in fault) {
      await new Promise((r) => setTimeout(r, fault.delayMs));
    } else if (fault !== undefined) {
      this.attempts.push({ batchId, status: fault.status, at });
      const headers = fault.retryAfter ? { "retry-after": fault.retryAfter } : undefined;
      return new Response(fault.body ?? "injected failure", { status: fault.status, headers });
    }
    const problem = await this.#check(req, batchId, body);
    if (problem !== undefined) {
      this.violations.push(problem);
      this.attempts.push({ batchId, status: 400, at });
      return new Response(problem, { status: problem.startsWith("auth") ? 401 : 400 });
    }
    this.attempts.push({ batchId, status: 200, at });
    if (this.batches.some((b) => b.batchId === batchId)) {
      this.duplicates++;
      return new Response("duplicate batch ignored", { status: 200 });
    }
    const records = decodeBody(req.headers, body);
    this.batches.push({
      batchId: batchId!,
      records,
      headers: req.headers,
      wireBytes: body.length,
      at,
    });
    return new Response(null, { status: 204 });
  }

  async #check(
    req: Request,
    batchId: string | null,
    body: Uint8Array,
  ): Promise<string | undefined> {
    if (req.method !== "POST") return `method ${req.method}`;
    if (!batchId) return "no x-telemetry-batch-id";
    const type = req.headers.get("content-type");
    if (type !== "application/x-ndjson" && type !== "application/json") {
      return `content-type ${type}`;
    }
    const records = Number(req.headers.get("x-telemetry-records"));
    if (this.#opts.authorization !== undefined) {
      const auth = req.headers.get("authorization");
      if (auth !== this.#opts.authorization) return `auth: authorization ${auth}`;
    }
    if (this.#hmacKey !== undefined) {
      const why = await this.#checkSignature(req.headers, batchId, body);
      if (why) return `auth: ${why}`;
    }
    try {
      const decoded = decodeBody(req.headers, body);
      if (decoded.length !== records) return `x-telemetry-records ${records} != ${decoded.length}`;
    } catch (err) {
      return `undecodable body: ${err}`;
    }
    return undefined;
  }

  async #checkSignature(headers: Headers, batchId: string, body: Uint8Array) {
    const ts = headers.get("x-telemetry-timestamp");
    const sig = headers.get(this.#opts.signatureHeader ?? "x-telemetry-signature");
    if (!ts || !sig?.startsWith("v1=")) return "signature headers missing";
    if (Math.abs(Date.now() / 1000 - Number(ts)) > 300) return "timestamp too old";
    const head = new TextEncoder().encode(`v1:${ts}:${batchId}:`);
    const message = new Uint8Array(head.length + body.length);
    message.set(head);
    message.set(body, head.length);
    const mac = new Uint8Array(sig.slice(3).match(/../g)!.map((h) => parseInt(h, 16)));
    const ok = await crypto.subtle.verify("HMAC", await this.#hmacKey!, mac, message);
    return ok ? undefined : "signature does not verify";
  }
}

function decodeBody(headers: Headers, body: Uint8Array): Record<string, unknown>[] {
  const raw = headers.get("content-encoding") === "gzip" ? gunzipSync(body) : body;
  const text = new TextDecoder("utf-8", { fatal: true }).decode(raw);
  if (headers.get("content-type") === "application/json") {
    const v = JSON.parse(text);
    if (!Array.isArray(v)) throw new Error("JSON body is not an array");
    return v;
  }
  if (text.length > 0 && !text.endsWith("\n")) throw new Error("NDJSON does not end in \\n");
  return text.split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l));
}
