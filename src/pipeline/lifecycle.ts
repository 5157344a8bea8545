/**
 * One request's lifecycle as the agent saw it: the events joined by correlation id and the
 * agent's own (monotonic) arrival time of each. Pipeline worker.
 * @module
 */

/** Arrival times are `performance.timeOrigin + performance.now()` in ms, taken on the ack path. */
export interface Lifecycle {
  cid: string;
  protocol: 1 | 2;
  events: number;
  firstArrival: number;
  lastArrival: number;
  request?: Record<string, unknown>;
  requestArrival?: number;
  requestChunks: number;
  requestBytes: number;
  requestLastChunkArrival?: number;
  response?: Record<string, unknown>;
  responseArrival?: number;
  responseChunks: number;
  responseBytes: number;
  responseLastChunkArrival?: number;
  complete?: Record<string, unknown>;
  /** Set while the record waits out the response-body grace. */
  emitAt?: number;
}

export function newLifecycle(cid: string, protocol: 1 | 2, arrival: number): Lifecycle {
  return {
    cid,
    protocol,
    events: 0,
    firstArrival: arrival,
    lastArrival: arrival,
    requestChunks: 0,
    requestBytes: 0,
    responseChunks: 0,
    responseBytes: 0,
  };
}

/** Decoded byte length of a standard padded base64 string, without decoding it. */
export function base64Length(data: unknown): number {
  if (typeof data !== "string" || data.length === 0) return 0;
  let pad = 0;
  if (data.endsWith("==")) pad = 2;
  else if (data.endsWith("=")) pad = 1;
  return Math.max(0, Math.floor((data.length * 3) / 4) - pad);
}
