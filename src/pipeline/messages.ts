/**
 * Messages between the main thread and the pipeline worker (structured-clone safe).
 * @module
 */

import type { Config } from "../config/types.ts";
import type { HandoffBatch } from "../ingress/handoff.ts";
import type { WorkerSnapshot } from "../obs/catalog.ts";
import type { AgentGroup } from "../record/schema.ts";

export type ToWorker =
  | {
    type: "init";
    config: Config;
    setKeys: string[];
    agent: AgentGroup;
    /** Fault injection for tests: block the worker this long per batch. */
    faultDelayMs: number;
  }
  | HandoffBatch
  | { type: "snapshot"; id: number }
  | { type: "reconfigure"; config: Config; setKeys: string[] }
  | { type: "drain"; deadlineMs: number };

export type FromWorker =
  | { type: "ready" }
  | { type: "init_failed"; error: string }
  | { type: "consumed"; buf: ArrayBuffer; index: Float64Array }
  | { type: "snapshot"; id: number; snapshot: WorkerSnapshot }
  | { type: "drained"; complete: boolean };
