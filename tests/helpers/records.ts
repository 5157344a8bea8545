/**
 * Reads back what the agent's file sink wrote. Test-only helper.
 * @module
 */

import type { TelemetryRecord } from "../../src/record/schema.ts";
import type { AgentProcess } from "./agent.ts";

/** All records in the agent's finished NDJSON files. */
export async function readRecords(agent: AgentProcess): Promise<TelemetryRecord[]> {
  const out: TelemetryRecord[] = [];
  for await (const e of Deno.readDir(agent.dataDir)) {
    if (!e.name.endsWith(".ndjson")) continue;
    const text = await Deno.readTextFile(`${agent.dataDir}/${e.name}`);
    for (const line of text.split("\n")) if (line) out.push(JSON.parse(line));
  }
  return out;
}
