/**
 * What a failed ClickHouse request means for the runner: retryable or not, and whether the
 * rows may have been stored anyway (`maybeWritten`: the next attempt checks before inserting).
 * Only final ClickHouse codes are fatal (credentials, missing table or columns, data the server
 * cannot parse); everything else — network errors, timeouts, overload, 5xx — is retryable.
 * Server codes are read from the message (`Code: 60`), which both 18.16 (`e.displayText()`)
 * and current servers (`(UNKNOWN_TABLE)`) print.
 * Pipeline worker. Pure.
 * @module
 */

import { SinkError, type SinkErrorCode } from "../contract.ts";

/** A failed ClickHouse request, classified. */
export class ClickHouseSinkError extends SinkError {
  /** ClickHouse error code (`60` = unknown table), when the server sent one. */
  readonly serverCode?: number;
  /** The request may have been applied although it failed (check before retrying an insert). */
  readonly maybeWritten: boolean;
  constructor(
    message: string,
    o: {
      code: SinkErrorCode;
      retryable: boolean;
      serverCode?: number;
      maybeWritten: boolean;
      cause?: unknown;
    },
  ) {
    super(message, { code: o.code, retryable: o.retryable, cause: o.cause });
    this.name = "ClickHouseSinkError";
    this.serverCode = o.serverCode;
    this.maybeWritten = o.maybeWritten;
  }
}

/** ClickHouse codes that name a setting to fix: credentials and permissions. */
const AUTH_CODES = new Set([192, 193, 194, 195, 497, 516]);
/** Table or columns missing: fix the schema (or set `create-table`). */
const SCHEMA_CODES = new Set([16, 47, 60, 81]);
/** The server cannot take these rows or this query as sent: retrying cannot help. */
const DATA_CODES = new Set([6, 26, 27, 38, 41, 53, 62, 69, 70, 72, 115, 117, 131, 164]);
/** Failures after which the insert may still have been applied. */
const UNCERTAIN_CODES = new Set([159, 209, 210, 216, 319]);
/** Network errors raised before anything was sent. */
const NOT_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);

/** Unknown table (dropped while the agent runs). */
export const CODE_UNKNOWN_TABLE = 60;

/**
 * Classify anything thrown by the HTTP client (or by ClickHouse through it).
 *
 * @example
 * ```ts
 * const e = classifyError(new Error("Code: 60, e.displayText() = DB::Exception: Table x doesn't exist."), "insert");
 * e.retryable; // false
 * ```
 */
export function classifyError(err: unknown, what: string): ClickHouseSinkError {
  if (err instanceof ClickHouseSinkError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const serverCode = serverCodeOf(message);
  if (serverCode !== undefined) return serverError(serverCode, message, what, err);
  const netCode = errnoOf(err);
  const sent = netCode === undefined || !NOT_SENT.has(netCode);
  return new ClickHouseSinkError(
    `ClickHouse ${what} failed: ${netCode ? `${netCode} ` : ""}${firstLine(message)}`,
    { code: "sink_unavailable", retryable: true, maybeWritten: sent, cause: err },
  );
}

function serverError(code: number, message: string, what: string, cause: unknown) {
  const text = `ClickHouse ${what} failed: code ${code}: ${serverMessage(message)}`;
  if (AUTH_CODES.has(code)) {
    return new ClickHouseSinkError(`${text} (check username and password of the sink)`, {
      code: "sink_config",
      retryable: false,
      serverCode: code,
      maybeWritten: false,
      cause,
    });
  }
  if (SCHEMA_CODES.has(code)) {
    const hint = "create it with `main.ts schema --clickhouse` or set create-table true";
    return new ClickHouseSinkError(`${text} (${hint})`, {
      code: "sink_config",
      retryable: false,
      serverCode: code,
      maybeWritten: false,
      cause,
    });
  }
  return new ClickHouseSinkError(text, {
    code: "sink_backend_rejected",
    retryable: !DATA_CODES.has(code),
    serverCode: code,
    maybeWritten: UNCERTAIN_CODES.has(code),
    cause,
  });
}

/** `Code: 60, e.displayText() = …` (18.16) or `Code: 60. DB::Exception: …` (current). */
export function serverCodeOf(message: string): number | undefined {
  const m = /(?:^|\s)Code: (\d+)[.,]/.exec(message);
  return m ? Number(m[1]) : undefined;
}

/** The useful part of a server message: after `DB::Exception: `, one line, at most 300 chars. */
function serverMessage(message: string): string {
  const at = message.lastIndexOf("DB::Exception: ");
  const text = at >= 0 ? message.slice(at + 15) : message;
  return firstLine(text.replace(/, e\.what\(\) = DB::Exception\s*$/s, ""));
}

function firstLine(text: string): string {
  const line = text.trim().split("\n", 1)[0];
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^E[A-Z_]+$/.test(code) ? code : undefined;
}
