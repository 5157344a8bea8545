/**
 * Builds lifecycles and records the way the pipeline does (newLifecycle + buildRecord), for
 * enrichment tests. Test-only helper.
 * @module
 */

import { newLifecycle } from "../../src/pipeline/lifecycle.ts";
import type { Lifecycle } from "../../src/pipeline/lifecycle.ts";
import { buildRecord } from "../../src/pipeline/record_builder.ts";
import type { PartialReason, TelemetryRecord } from "../../src/record/schema.ts";

export interface RequestSpec {
  clientIp?: string;
  uri?: string;
  headers?: Record<string, string[]>;
  status?: number;
  responseHeaders?: Record<string, string[]>;
  upstreamMs?: number;
  timestamp?: string;
  partial?: PartialReason;
}

/** A lifecycle (request, and response unless `status` is undefined) and its built record. */
export function recordFor(spec: RequestSpec): { record: TelemetryRecord; lc: Lifecycle } {
  const t0 = 1_700_000_000_000;
  const lc = newLifecycle("cid-1", 2, t0);
  lc.request = {
    metadata: {
      client_ip: spec.clientIp ?? "8.8.8.8:5000",
      request_id: "r-1",
      route_id: "api",
      upstream_id: "backend",
      timestamp: spec.timestamp ?? "2026-03-04T13:14:15.123Z",
    },
    method: "GET",
    uri: spec.uri ?? "/",
    headers: spec.headers ?? {},
  };
  lc.requestArrival = t0;
  lc.events = 1;
  if (spec.status !== undefined) {
    lc.response = { status: spec.status, headers: spec.responseHeaders ?? {} };
    lc.responseArrival = t0 + (spec.upstreamMs ?? 5);
    lc.lastArrival = lc.responseArrival;
    lc.events = 2;
  }
  const record = buildRecord(
    lc,
    spec.partial ?? null,
    { id: "t", version: "0", host: "h" },
    t0 + 50,
  );
  return { record, lc };
}
