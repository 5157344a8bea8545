/**
 * The ClickHouse sink. What reaches ClickHouse and how:
 * 1. `open()` asks the server its version and features (`server.ts`), finds the table (creating
 *    database and table with the DDL for that server when `create-table` is set) and reads its
 *    columns; records are mapped onto the columns the table really has (`rows.ts`).
 * 2. `write(batch)` encodes the batch once as JSONEachRow and sends one
 *    `INSERT … FORMAT JSONEachRow` with `query_id` = batch id (`connection.ts`).
 * 3. Retries stay exactly-once where the server allows it: with `insert_deduplication_token` =
 *    batch id on tables that de-duplicate (`token` mode), else by asking which event ids of a
 *    batch are already stored before re-sending a batch whose earlier insert may have landed
 *    (`verify` mode, the only way on 18.16). docs/sinks-clickhouse.md gives what holds.
 * A server that cannot be reached at `open()` is not fatal: the probe runs again before the next
 * write. Wrong credentials or a missing table (without `create-table`) are (`errors.ts`).
 * Pipeline worker. Never sleeps, retries or counts drops (the runner does).
 * @module
 */

import type { SinkConfig } from "../../config/types.ts";
import {
  type ClickHouseFeatures,
  createDatabaseSql,
  createTableSql,
} from "../../record/ddl_clickhouse.ts";
import type { TelemetryRecord } from "../../record/schema.ts";
import { type Sink, type SinkBatch, type SinkDeps, SinkError } from "../contract.ts";
import { RecentIds } from "../_recent_ids.ts";
import { ClickHouseConnection, type Settings } from "./connection.ts";
import { classifyError, ClickHouseSinkError, CODE_UNKNOWN_TABLE } from "./errors.ts";
import { type ClickHouseSinkOptions, parseClickHouseOptions } from "./options.ts";
import { planRows, type RowPlan } from "./rows.ts";
import {
  type DedupMode,
  dedupModeOf,
  describeTable,
  ensureNotRunning,
  probeFeatures,
  storedEventIds,
  type TableInfo,
  targetOf,
} from "./server.ts";

export { classifyError, ClickHouseSinkError } from "./errors.ts";
export { CLICKHOUSE_SINK_DEFAULTS, parseClickHouseOptions } from "./options.ts";
export type { ClickHouseSinkOptions } from "./options.ts";

/**
 * Create a ClickHouse sink from its config section (`cfg.options` is parsed here).
 *
 * @example
 * ```ts
 * const sink = createClickHouseSink(cfg, { log });
 * await sink.open();              // probes the server, finds (or creates) the table
 * await sink.write({ id, records });
 * await sink.close();
 * ```
 */
export function createClickHouseSink(cfg: SinkConfig, deps: SinkDeps): Sink {
  return new ClickHouseSink(cfg.name, parseClickHouseOptions(cfg.name, cfg.options), deps);
}

/** What the sink learnt about server and table at its last successful probe. */
interface Prepared {
  features: ClickHouseFeatures;
  plan: RowPlan;
  mode: DedupMode;
  settings: Settings;
}

const encoder = new TextEncoder();
const INVALID_LOG_INTERVAL_MS = 10_000;
/** Batches remembered as possibly stored; more than the runner ever holds in flight. */
const UNCERTAIN_LIMIT = 4096;

class ClickHouseSink implements Sink {
  readonly name: string;
  #o: ClickHouseSinkOptions;
  #deps: SinkDeps;
  #conn: ClickHouseConnection | null = null;
  #target: string;
  #prepared: Prepared | null = null;
  #preparing: Promise<Prepared> | null = null;
  #written = new RecentIds();
  /** Batch ids whose last insert failed in a way that may have stored it (bounded). */
  #uncertain = new Set<string>();
  #encoded = new WeakMap<SinkBatch, { plan: RowPlan; body: Uint8Array }>();
  #invalid = 0;
  #invalidLoggedAt = -Infinity;
  #closed = false;

  constructor(name: string, opts: ClickHouseSinkOptions, deps: SinkDeps) {
    this.name = name;
    this.#o = opts;
    this.#deps = deps;
    this.#target = targetOf(opts.database, opts.table);
  }

  async open(): Promise<void> {
    this.#conn = new ClickHouseConnection(this.#o, this.#deps.log);
    try {
      await this.#prepare();
    } catch (err) {
      if (!(err instanceof SinkError) || !err.retryable) throw err;
      this.#deps.log(
        "warn",
        "clickhouse sink cannot reach the server; will try again before writing",
        {
          sink: this.name,
          url: this.#o.url,
          error: err.message,
        },
      );
    }
  }

  async write(batch: SinkBatch): Promise<number> {
    if (this.#closed || this.#conn === null) {
      throw new SinkError(`clickhouse sink ${this.name} is not open`, {
        code: "sink_unavailable",
        retryable: false,
      });
    }
    if (this.#written.has(batch.id)) return 0;
    const p = await this.#prepare();
    let records: readonly TelemetryRecord[] = batch.records;
    let body = this.#encode(batch, p);
    if (p.mode === "verify" && this.#uncertain.has(batch.id)) {
      records = await this.#unstored(batch);
      if (records.length < batch.records.length) body = this.#encodeRecords(records, p);
    }
    if (records.length > 0) await this.#insert(batch.id, body, p);
    this.#written.add(batch.id);
    return records.length > 0 ? body.length : 0;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#logInvalid(true);
    await this.#conn?.close();
  }

  /** Probe once; concurrent callers share the probe; a failed probe is tried again next time. */
  #prepare(): Promise<Prepared> {
    if (this.#prepared) return Promise.resolve(this.#prepared);
    this.#preparing ??= this.#probe().then(
      (p) => (this.#prepared = p),
    ).finally(() => (this.#preparing = null));
    return this.#preparing;
  }

  async #probe(): Promise<Prepared> {
    const conn = this.#conn!;
    const features = await probeFeatures(conn);
    const table = await this.#findTable(conn, features);
    const plan = planRows(table.columns);
    const mode = dedupModeOf(features, table, this.#o.asyncInsert);
    const settings = this.#insertSettings(features, mode);
    this.#deps.log("info", "clickhouse sink ready", {
      sink: this.name,
      server_version: features.version,
      table: `${this.#o.database}.${this.#o.table}`,
      engine: table.engine,
      dedup: mode,
      async_insert: settings.async_insert === 1,
    });
    if (plan.missing.length > 0 || plan.incompatible.length > 0) {
      this.#deps.log("warn", "clickhouse table lacks columns for some record fields; not stored", {
        sink: this.name,
        missing: plan.missing,
        incompatible: plan.incompatible,
        fix: "add them with ALTER TABLE … ADD COLUMN (types: main.ts schema --clickhouse)",
      });
    }
    return { features, plan, mode, settings };
  }

  async #findTable(conn: ClickHouseConnection, features: ClickHouseFeatures): Promise<TableInfo> {
    const { database, table, createTable } = this.#o;
    const found = await describeTable(conn, database, table);
    if (found) return found;
    if (!createTable) {
      throw new ClickHouseSinkError(
        `ClickHouse table ${database}.${table} does not exist: create it with ` +
          `\`main.ts schema --clickhouse --database ${database} --table ${table}\` ` +
          "or set create-table true in the sink block",
        {
          code: "sink_config",
          retryable: false,
          serverCode: CODE_UNKNOWN_TABLE,
          maybeWritten: false,
        },
      );
    }
    await conn.command(createDatabaseSql(database), "create database");
    await conn.command(createTableSql({ database, table, features }), "create table");
    this.#deps.log("info", "clickhouse sink created its table", {
      sink: this.name,
      table: `${database}.${table}`,
      server_version: features.version,
    });
    const made = await describeTable(conn, database, table);
    if (made) return made;
    throw new ClickHouseSinkError(`ClickHouse table ${database}.${table} vanished after creation`, {
      code: "sink_unavailable",
      retryable: true,
      maybeWritten: false,
    });
  }

  #insertSettings(f: ClickHouseFeatures, mode: DedupMode): Settings {
    const s: Settings = {};
    if (this.#o.asyncInsert && f.asyncInsert) {
      s.async_insert = 1;
      s.wait_for_async_insert = 1;
    } else if (f.asyncInsert) {
      s.async_insert = 0; // some servers default to async inserts; the sink asked for sync ones
    } else if (this.#o.asyncInsert) {
      this.#deps.log("warn", "clickhouse server has no async_insert; inserting synchronously", {
        sink: this.name,
        server_version: f.version,
      });
    }
    if (mode === "token") s.insert_deduplicate = 1;
    return s;
  }

  async #insert(batchId: string, body: Uint8Array, p: Prepared): Promise<void> {
    const settings = p.mode === "token"
      ? { ...p.settings, insert_deduplication_token: batchId }
      : p.settings;
    try {
      await this.#conn!.insert(this.#target, body, settings, batchId);
      this.#uncertain.delete(batchId);
    } catch (err) {
      const e = classifyError(err, "insert");
      if (e.maybeWritten) this.#markUncertain(batchId);
      throw this.#afterInsertError(e);
    }
  }

  /** A table dropped while running: re-probe (and re-create when allowed) on the next try. */
  #afterInsertError(e: ClickHouseSinkError): ClickHouseSinkError {
    if (e.serverCode === CODE_UNKNOWN_TABLE || e.serverCode === 16) this.#prepared = null;
    if (e.serverCode !== CODE_UNKNOWN_TABLE || !this.#o.createTable) return e;
    return new ClickHouseSinkError(`${e.message}; the sink re-creates it`, {
      code: "sink_unavailable",
      retryable: true,
      serverCode: e.serverCode,
      maybeWritten: false,
      cause: e,
    });
  }

  /** The records of a possibly-stored batch that are not in the table yet. */
  async #unstored(batch: SinkBatch): Promise<TelemetryRecord[]> {
    await ensureNotRunning(this.#conn!, batch.id);
    const stored = await storedEventIds(this.#conn!, this.#target, batch.records);
    const rest = batch.records.filter((r) => !stored.has(r.event_id));
    this.#deps.log("info", "clickhouse sink checked a retried batch before re-sending it", {
      sink: this.name,
      batch_id: batch.id,
      records: batch.records.length,
      already_stored: batch.records.length - rest.length,
    });
    this.#uncertain.delete(batch.id);
    return rest;
  }

  #markUncertain(batchId: string): void {
    this.#uncertain.add(batchId);
    if (this.#uncertain.size > UNCERTAIN_LIMIT) {
      this.#uncertain.delete(this.#uncertain.values().next().value!);
    }
  }

  /** The batch as JSONEachRow, encoded once per batch object (again if the table changed). */
  #encode(batch: SinkBatch, p: Prepared): Uint8Array {
    const cached = this.#encoded.get(batch);
    if (cached?.plan === p.plan) return cached.body;
    const body = this.#encodeRecords(batch.records, p);
    this.#encoded.set(batch, { plan: p.plan, body });
    return body;
  }

  #encodeRecords(records: readonly TelemetryRecord[], p: Prepared): Uint8Array {
    const { text, invalid } = p.plan.encode(records);
    this.#invalid += invalid;
    this.#logInvalid(false);
    return encoder.encode(text);
  }

  #logInvalid(force: boolean): void {
    const now = performance.now();
    if (this.#invalid === 0 || (!force && now - this.#invalidLoggedAt < INVALID_LOG_INTERVAL_MS)) {
      return;
    }
    this.#deps.log("warn", "clickhouse sink stored values that did not fit their column as NULL", {
      sink: this.name,
      values: this.#invalid,
    });
    this.#invalid = 0;
    this.#invalidLoggedAt = now;
  }
}
