/**
 * The sink's only door to ClickHouse: a thin wrapper over `@clickhouse/client` (HTTP interface,
 * Node's http module under Deno) that speaks to 18.16 as well as current servers: no query
 * parameters (18.16 lacks them; literals are quoted by `ddl_clickhouse.ts`), only settings the
 * server reported, and errors classified (`errors.ts`) whatever the server's message format.
 * Pipeline worker. Every failure surfaces as `ClickHouseSinkError`; the client's own log lines
 * go to the agent's log at debug level (the sink logs the outcome itself).
 * @module
 */

import { Buffer } from "node:buffer";
import { Readable } from "node:stream";
import {
  type ClickHouseClient,
  ClickHouseLogLevel,
  createClient,
  type Logger,
} from "@clickhouse/client";
import type { SinkDeps } from "../contract.ts";
import { classifyError } from "./errors.ts";
import type { ClickHouseSinkOptions } from "./options.ts";

/** Settings sent with one request (only names the server knows). */
export type Settings = Record<string, string | number>;

/** One HTTP client for one sink. */
export class ClickHouseConnection {
  #client: ClickHouseClient;

  constructor(opts: ClickHouseSinkOptions, log: SinkDeps["log"]) {
    try {
      this.#client = createClient({
        url: opts.url,
        username: opts.username,
        password: opts.password,
        request_timeout: opts.requestTimeoutMs,
        compression: { request: opts.compress, response: false },
        application: "telemetry-agent",
        // Deno's node:http silently re-sends a request whose reused keep-alive socket the server
        // closed before answering: an INSERT could land twice. A fresh connection per request
        // turns that case into an error the sink classifies (and checks before retrying).
        keep_alive: { enabled: false },
        log: { LoggerClass: forwardingLogger(log), level: ClickHouseLogLevel.WARN },
      });
    } catch (err) {
      throw classifyError(err, "client set-up");
    }
  }

  /** Rows of a `SELECT` as objects (JSONEachRow; 64-bit integers arrive as strings). */
  async select<T>(sql: string, what: string): Promise<T[]> {
    try {
      const rs = await this.#client.query({ query: sql, format: "JSONEachRow" });
      return await rs.json<T>();
    } catch (err) {
      throw classifyError(err, what);
    }
  }

  /** A statement without result rows (DDL). */
  async command(sql: string, what: string): Promise<void> {
    try {
      await this.#client.command({ query: sql });
    } catch (err) {
      throw classifyError(err, what);
    }
  }

  /**
   * `INSERT INTO table FORMAT JSONEachRow` with `body` (rows encoded already) under `queryId`.
   * Sent through `exec`: the client's `insert` re-encodes JSON rows itself.
   */
  async insert(
    table: string,
    body: Uint8Array,
    settings: Settings,
    queryId: string,
  ): Promise<void> {
    try {
      const result = await this.#client.exec({
        query: `INSERT INTO ${table} FORMAT JSONEachRow`,
        values: Readable.from([Buffer.from(body.buffer, body.byteOffset, body.byteLength)], {
          objectMode: false,
        }),
        query_id: queryId,
        clickhouse_settings: settings,
      });
      await drain(result.stream);
    } catch (err) {
      throw classifyError(err, "insert");
    }
  }

  async close(): Promise<void> {
    await this.#client.close();
  }
}

/** Read a response to its end (an INSERT answers with an empty body). */
async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream) {
    // nothing to read: the loop only waits for the end
  }
}

/** A client logger class that forwards to the agent's log (the client instantiates it). */
function forwardingLogger(log: SinkDeps["log"]): new () => Logger {
  const fields = (args?: Record<string, unknown>, err?: Error) => ({
    component: "clickhouse-client",
    ...(args?.operation ? { operation: String(args.operation) } : {}),
    ...(err ? { error: err.message } : {}),
  });
  return class implements Logger {
    trace() {}
    debug() {}
    info() {}
    warn(p: { message: string; args?: Record<string, unknown>; err?: Error }) {
      log("debug", p.message, fields(p.args, p.err));
    }
    error(p: { message: string; args?: Record<string, unknown>; err: Error }) {
      log("debug", p.message, fields(p.args, p.err));
    }
  };
}
