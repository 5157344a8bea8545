/**
 * The v2 handshake (PROTOCOL.md §3.1): read the proxy's HandshakeRequest, pick an encoding the
 * proxy offered, build the agent's HandshakeResponse. Main thread, once per connection.
 * @module
 */

import { frameOf } from "./acks.ts";
import { MsgType } from "./constants.ts";

export type WireEncoding = "json" | "msgpack";

export interface HandshakeRequest {
  supportedVersions: number[];
  proxyId: string;
  proxyVersion: string;
  encodings: string[];
}

export interface AgentIdentity {
  agentId: string;
  name: string;
  version: string;
}

/** Parse the proxy's handshake payload (always JSON); null when it is not a handshake. */
export function parseHandshake(payload: Uint8Array): HandshakeRequest | null {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payload));
  } catch {
    return null; // not JSON: the caller closes the connection and counts it
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) return null;
  const o = v as Record<string, unknown>;
  if (!Array.isArray(o.supported_versions)) return null;
  const encodings = Array.isArray(o.supported_encodings)
    ? o.supported_encodings.filter((e): e is string => typeof e === "string")
    : [];
  return {
    supportedVersions: o.supported_versions.filter((n): n is number => typeof n === "number"),
    proxyId: typeof o.proxy_id === "string" ? o.proxy_id : "",
    proxyVersion: typeof o.proxy_version === "string" ? o.proxy_version : "",
    encodings,
  };
}

/** The first encoding the proxy offered that the agent speaks; JSON when none was offered. */
export function chooseEncoding(offered: string[]): WireEncoding {
  for (const e of offered) if (e === "json" || e === "msgpack") return e;
  return "json";
}

/** The HandshakeResponse frame (type 0x02, JSON). `encoding` is named only when offered. */
export function handshakeResponse(
  id: AgentIdentity,
  req: HandshakeRequest,
  encoding: WireEncoding,
): Uint8Array {
  const versionOk = req.supportedVersions.includes(2);
  // Offered encodings none of which the agent speaks: no answer is safe (absent means JSON,
  // which was not offered), so refuse the connection with a reason instead of mismatching.
  const encodingOk = req.encodings.length === 0 || req.encodings.includes(encoding);
  const ok = versionOk && encodingOk;
  const error = !versionOk
    ? `Telemetry speaks protocol version 2; the proxy offered ${
      JSON.stringify(req.supportedVersions)
    }`
    : `Telemetry speaks the json and msgpack encodings; the proxy offered ${
      JSON.stringify(req.encodings)
    }`;
  const body: Record<string, unknown> = {
    protocol_version: 2,
    capabilities: {
      agent_id: id.agentId,
      name: id.name,
      version: id.version,
      supported_events: [1, 2, 3, 4, 5, 6, 7],
      features: {
        streaming_body: false,
        websocket: false,
        guardrails: false,
        config_push: false,
        metrics_export: false,
        concurrent_requests: 1000,
        cancellation: true,
        flow_control: false,
        health_reporting: false,
      },
      limits: { max_body_size: 1048576, max_concurrency: 1000, preferred_chunk_size: 65536 },
    },
    success: ok,
    error: ok ? null : error,
  };
  // Name the encoding only when the proxy offered it (absent = JSON); never one it did not offer.
  if (req.encodings.includes(encoding)) body.encoding = encoding;
  return frameOf(MsgType.HandshakeResponse, new TextEncoder().encode(JSON.stringify(body)));
}
