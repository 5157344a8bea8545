/**
 * One HTTP exchange for the network sinks (http, s3, bigquery): a bounded-time `fetch` whose
 * failures become `SinkError`s the runner understands. Network errors, timeouts, 408, 429 and
 * 5xx are retryable (with the server's `Retry-After` as `retryAfterMs`); other statuses are fatal.
 * Pipeline worker. Never retries, never sleeps; always reads or cancels the response body.
 * @module
 */

import { SinkError } from "./contract.ts";

/** A finished exchange: the status, headers and the body as text. */
export interface HttpReply {
  status: number;
  headers: Headers;
  body: string;
}

/** Longest server-requested wait honoured; a longer `Retry-After` is capped here. */
export const MAX_RETRY_AFTER_MS = 300_000;
/** Most characters of a response body quoted in an error message. */
const QUOTE_CHARS = 300;

/**
 * Send `request` and read the whole reply, within `timeoutMs`. Throws a retryable `SinkError`
 * (code `sink_unavailable`) when the server cannot be reached or does not answer in time;
 * any HTTP status resolves (judge it with `statusError`). Redirects are not followed.
 *
 * @example
 * ```ts
 * const reply = await exchange(new Request(url, { method: "POST", body }), 10_000, "http sink");
 * if (reply.status >= 300) throw statusError(reply, "http sink");
 * ```
 */
export async function exchange(
  request: Request,
  timeoutMs: number,
  what: string,
): Promise<HttpReply> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const res = await fetch(request, { signal, redirect: "manual" });
    const body = await res.text();
    return { status: res.status, headers: res.headers, body };
  } catch (err) {
    const timedOut = signal.aborted;
    const why = timedOut ? `no answer within ${timeoutMs} ms` : errorText(err);
    throw new SinkError(`${what}: ${request.method} ${hostOf(request.url)} failed: ${why}`, {
      code: "sink_unavailable",
      retryable: true,
      cause: err,
    });
  }
}

/** Whether a status means "try again later": 408, 429 and every 5xx. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * The `SinkError` for a non-success reply: retryable (`sink_unavailable`, with the server's
 * `Retry-After`) for 408/429/5xx, fatal (`sink_backend_rejected`) for anything else.
 */
export function statusError(reply: HttpReply, what: string, detail = ""): SinkError {
  const retryable = isRetryableStatus(reply.status);
  const retryAfterMs = retryable ? parseRetryAfter(reply.headers.get("retry-after")) : undefined;
  const quoted = quote(detail || reply.body);
  const msg = `${what}: HTTP ${reply.status}${quoted ? `: ${quoted}` : ""}`;
  return new SinkError(msg, {
    code: retryable ? "sink_unavailable" : "sink_backend_rejected",
    retryable,
    retryAfterMs,
  });
}

/**
 * `Retry-After` as milliseconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3), capped at
 * `MAX_RETRY_AFTER_MS`; `undefined` when absent or unreadable.
 */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  let ms: number;
  if (/^\d+$/.test(text)) ms = Number(text) * 1000;
  else {
    const at = Date.parse(text);
    if (Number.isNaN(at)) return undefined;
    ms = Math.max(0, at - now);
  }
  return Math.min(ms, MAX_RETRY_AFTER_MS);
}

/** The first characters of a body, on one line. */
export function quote(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > QUOTE_CHARS ? `${flat.slice(0, QUOTE_CHARS)}…` : flat;
}

function hostOf(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return url;
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
