/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />

/**
 * The pipeline worker's entry: decodes handed-off events, assembles lifecycles, builds and
 * samples records and fans them out to the sink runners. Runs in a Web Worker, never on the ack
 * path; the main thread only posts batches and reads snapshots.
 * @module
 */

import { setPriority } from "node:os";
import type { Config } from "../config/types.ts";
import { configureLog, log } from "../obs/log.ts";
import type { FromWorker, ToWorker } from "./messages.ts";
import { Pipeline } from "./pipeline.ts";

let pipeline: Pipeline | null = null;
let faultDelayMs = 0;
/** Nice value of the pipeline thread (the main thread stays at the process's own). */
const PIPELINE_NICE = 10;
const post = (m: FromWorker) => self.postMessage(m);

self.onmessage = async (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  switch (m.type) {
    case "init":
      faultDelayMs = m.faultDelayMs;
      return await init(m.config, m.setKeys, m.agent);
    case "batch":
      if (faultDelayMs > 0) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, faultDelayMs);
      }
      pipeline?.ingest(m);
      // Nothing decoded keeps a view into the batch (see decode.ts): hand the buffers back.
      return self.postMessage(
        { type: "consumed", buf: m.buf, index: m.index } satisfies FromWorker,
        [m.buf, m.index.buffer as ArrayBuffer],
      );
    case "snapshot":
      if (pipeline) post({ type: "snapshot", id: m.id, snapshot: pipeline.snapshot() });
      return;
    case "reconfigure":
      pipeline?.reconfigure(m.config, m.setKeys);
      return await pipeline?.reloadData();
    case "drain": {
      const complete = pipeline ? await pipeline.drain(m.deadlineMs) : true;
      return post({ type: "drained", complete });
    }
  }
};

/**
 * Lower this thread's scheduling priority (Linux nice is per thread), so that on a busy machine
 * the ack path on the main thread preempts the pipeline rather than waiting behind it.
 */
function yieldToAckPath(): void {
  try {
    setPriority(PIPELINE_NICE);
  } catch (e) {
    log("warn", "could not lower the pipeline thread's priority; acks may wait behind it", {
      error: String(e),
      hint: "grant --allow-sys=setPriority",
    });
  }
}

async function init(
  config: Config,
  setKeys: string[],
  agent: Parameters<typeof Pipeline.create>[2],
) {
  configureLog(config.logLevel, "pipeline");
  yieldToAckPath();
  try {
    pipeline = await Pipeline.create(config, setKeys, agent);
    post({ type: "ready" });
  } catch (e) {
    log("error", "pipeline failed to start", { error: String(e) });
    post({ type: "init_failed", error: e instanceof Error ? e.message : String(e) });
  }
}
