/**
 * Fixtures for the ClickHouse tests: a record with every field of the schema set, sink configs
 * for a test server, and a TCP proxy that lets a request reach ClickHouse but cuts the
 * connection before the answer comes back (an insert that landed although the client saw an
 * error). Tests only.
 * @module
 */

import type { SinkConfig } from "../../src/config/types.ts";
import type { TelemetryRecord } from "../../src/record/schema.ts";
import { WRITER_PASSWORD } from "../../scripts/services/clickhouse.ts";

/** A UUIDv7-shaped event id that sorts by `seq`. */
export function eventId(seq: number, salt = 0): string {
  const hex = (seq * 16 + salt).toString(16).padStart(12, "0");
  return `01900000-0000-7000-8000-${hex}`;
}

/** A record with every field of the schema set (values depend on `seq`). */
export function fullRecord(seq: number, timestamp = "2026-03-01T12:00:00.123Z"): TelemetryRecord {
  return {
    schema_version: 1,
    event_id: eventId(seq),
    timestamp,
    sample_rate: 2.5,
    partial: false,
    partial_reason: "no_response",
    events: 2,
    protocol_version: 2,
    agent: { id: "agent-1", version: "0.1.0", host: "edge-1" },
    request: {
      correlation_id: `cid-${seq}`,
      request_id: `req-${seq}`,
      method: "POST",
      host: "example.com",
      path: `/api/items/${seq}`,
      path_template: "/api/items/{id}",
      query: "a=1&b=%C3%A9",
      query_keys: ["a", "b"],
      protocol: "HTTP/1.1",
      headers: { accept: ["text/html", "application/json"], "user-agent": ["curl/8.5.0"] },
      body_bytes: 5_000_000_000,
      body_chunks: 3,
      referer: "https://ref.example/it's",
      content_type: "application/json",
      user_agent: "curl/8.5.0",
      trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
      span_id: "00f067aa0ba902b7",
      body_size_bucket: "1-10MiB",
      hour_of_day: 12,
      day_of_week: 7,
    },
    response: {
      status: 503,
      status_class: "5xx",
      body_bytes: 42,
      body_chunks: 1,
      content_type: "text/plain; charset=utf-8",
      headers: { server: ["nginx"], vary: ["accept"] },
      body_size_bucket: "1B-1KiB",
    },
    client: {
      ip: "2001:db8::7",
      port: 51234,
      ip_version: 6,
      address_kind: "ip",
      network_type: "public",
    },
    tls: { version: "TLSv1.3", cipher: "TLS_AES_128_GCM_SHA256", server_name: "example.com" },
    geo: {
      continent_code: "EU",
      country_iso_code: "DE",
      country_name: "Germany",
      region_iso_code: "DE-BE",
      region_name: "Berlin",
      city_name: "Berlin",
      postal_code: "10115",
      location: { lat: 52.52, lon: 13.405 },
      accuracy_radius_km: 20,
      timezone: "Europe/Berlin",
      data_version: "dbip-city@1",
    },
    asn: {
      number: 3320,
      organization: "Deutsche Telekom AG",
      network: "2001:db8::/32",
      connection_type: "Cable/DSL",
      data_version: "dbip-asn@1",
    },
    device: {
      type: "desktop",
      vendor: "Apple",
      model: "Macintosh",
      os_name: "macOS",
      os_version: "14.5",
      browser_name: "Firefox",
      browser_version: "126.0",
      engine_name: "Gecko",
      engine_version: "126.0",
      cpu_arch: "arm64",
      is_bot: false,
      bot_name: "none",
      fingerprint: "hf1:0123456789abcdef",
      source: "client_hints",
    },
    threat: {
      is_known_bad: true,
      lists: ["spamhaus-drop", "local"],
      is_tor_exit: false,
      is_proxy: true,
      is_vpn: false,
      is_hosting: true,
      is_bogon: false,
      score: 87.5,
      reasons: ["list:spamhaus-drop", "hosting_asn"],
      data_version: "threat@1",
    },
    timing: {
      upstream_ms: 12.345,
      request_body_ms: 1.5,
      response_body_ms: 2.25,
      total_ms: 20,
      agent_lag_ms: 0.125,
      source: "proxy",
    },
    sentinel: {
      route_id: "api",
      upstream_id: "backend-1",
      upstream_attempts: 2,
      decision: "allow",
      decision_source: "header",
      risk_score: 0.75,
      matched_rules: ["r1", "r2"],
      error: "upstream timeout",
    },
    labels: { is_error: true, is_bot: false, is_threat: true, is_slow: false, is_blocked: false },
  };
}

/** The smallest valid record. */
export function minimalRecord(
  seq: number,
  timestamp = "2026-03-01T12:00:00.000Z",
): TelemetryRecord {
  return {
    schema_version: 1,
    event_id: eventId(seq),
    timestamp,
    sample_rate: 1,
    partial: true,
    events: 1,
    agent: { id: "agent-1", version: "0.1.0", host: "edge-1" },
    request: { correlation_id: `cid-${seq}` },
  };
}

/** A ClickHouse sink block for a test server (user `writer`). */
export function clickhouseSinkConfig(
  url: string,
  options: Record<string, unknown> = {},
): SinkConfig {
  return {
    name: "ch",
    type: "clickhouse",
    batchSize: 100,
    flushIntervalMs: 100,
    options: { url, username: "writer", password: WRITER_PASSWORD, ...options },
  };
}

/** A TCP proxy to `port`: passes requests through; in `cut` mode drops every answer. */
export interface CuttingProxy {
  url: string;
  /** When true, connections are closed as soon as the server starts answering. */
  cut: boolean;
  /** Requests that got cut so far. */
  readonly cuts: number;
  close(): Promise<void>;
}

/** Start a `CuttingProxy` in front of `127.0.0.1:port`. */
export function cuttingProxy(port: number): CuttingProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const state = { cut: false, cuts: 0 };
  const pipe = async (from: Deno.Conn, to: Deno.Conn, answers: boolean) => {
    const buf = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await from.read(buf);
        if (n === null) break;
        if (answers && state.cut) {
          state.cuts++;
          break; // the server answered: the client never sees it
        }
        for (let at = 0; at < n;) at += await to.write(buf.subarray(at, n));
      }
    } catch {
      // either side went away: closing both below ends the other direction too
    }
    for (const c of [from, to]) {
      // closeWrite sends FIN at once; close alone waits for the other direction's pending read.
      await c.closeWrite().catch(() => {});
      try {
        c.close();
      } catch {
        // already closed by the other direction
      }
      conns.delete(c);
    }
  };
  const accepting = (async () => {
    for await (const client of listener) {
      const server = await Deno.connect({ hostname: "127.0.0.1", port });
      conns.add(client);
      conns.add(server);
      void pipe(client, server, false);
      void pipe(server, client, true);
    }
  })();
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    get cut() {
      return state.cut;
    },
    set cut(v: boolean) {
      state.cut = v;
    },
    get cuts() {
      return state.cuts;
    },
    async close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // closed meanwhile
        }
      }
      await accepting.catch(() => {});
    },
  };
}
