/**
 * Opens MaxMind-format databases (`npm:maxmind`) from bytes and recognises what they hold from
 * their metadata: city or country (GeoIP2/GeoLite2/DB-IP layout, or ip-location-db's flat layout),
 * ASN/ISP, Anonymous-IP, Connection-Type. Pipeline worker and CLI. Throws `DataFileError` for a
 * file that is not a MaxMind DB or of a kind it does not know; never touches the network.
 * @module
 */

import { Buffer } from "node:buffer";
import { Reader, type Response } from "maxmind";
import { DataFileError, errorText } from "./errors.ts";
import { type IpAddr, lookupText } from "./ip.ts";
import { BoundedCache } from "./lru.ts";

/** What a database answers, by the fields it maps to. */
export type MmdbKind = "city" | "country" | "asn" | "anonymous_ip" | "connection_type";

/** An opened database. */
export interface MmdbDatabase {
  kind: MmdbKind;
  /** 4: only IPv4 in the tree; 6: IPv6 (and IPv4 under `::/96` when the file has it). */
  ipVersion: 4 | 6;
  databaseType: string;
  buildDate: string;
  nodeCount: number;
  /** The record for an address and the prefix length of its network; null when not found. */
  lookup(ip: IpAddr): { record: Record<string, unknown>; prefix: number } | null;
}

/** Decoded records kept per database (shared sub-records are decoded once). */
const DECODE_CACHE_ENTRIES = 50_000;

/** Open a database from its bytes; `file` names it in errors. */
export function openMmdb(bytes: Uint8Array, file: string): MmdbDatabase {
  const cache = new BoundedCache<string | number, unknown>(DECODE_CACHE_ENTRIES);
  let reader: Reader<Response>;
  try {
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    reader = new Reader<Response>(buf, { cache });
  } catch (e) {
    throw new DataFileError("enrich_data_invalid", file, `not a MaxMind DB: ${errorText(e)}`);
  }
  const md = reader.metadata;
  const kind = kindOf(md.databaseType);
  if (kind === undefined) {
    throw new DataFileError(
      "enrich_data_unknown_kind",
      file,
      `database type "${md.databaseType}" is not one Telemetry maps (City, Country, ASN, ISP, ` +
        "Anonymous-IP, Connection-Type)",
    );
  }
  if (md.ipVersion !== 4 && md.ipVersion !== 6) {
    throw new DataFileError("enrich_data_invalid", file, `ip_version ${md.ipVersion}`);
  }
  probe(reader, file);
  return {
    kind,
    ipVersion: md.ipVersion,
    databaseType: md.databaseType,
    buildDate: isoDate(md.buildEpoch),
    nodeCount: md.nodeCount,
    lookup(ip) {
      if (ip.version === 6 && md.ipVersion === 4) return null;
      const [record, prefix] = reader.getWithPrefixLength(lookupText(ip));
      if (record === null || typeof record !== "object") return null;
      return { record: record as unknown as Record<string, unknown>, prefix };
    },
  };
}

/** The kind a `database_type` names, or undefined. */
export function kindOf(databaseType: string): MmdbKind | undefined {
  const t = databaseType.toLowerCase();
  if (t.includes("anonymous")) return "anonymous_ip";
  if (/connection[-_ ]?type/.test(t)) return "connection_type";
  if (/\basn\b|-asn|asn-|\bisp\b|-isp/.test(t)) return "asn";
  if (t.includes("city") || t.includes("enterprise")) return "city";
  if (t.includes("country")) return "country";
  return undefined;
}

/** Walk one lookup so a file whose tree or data section is broken fails at load, not per record. */
function probe(reader: Reader<Response>, file: string): void {
  const probes = reader.metadata.ipVersion === 6 ? ["8.8.8.8", "2001:4860::1"] : ["8.8.8.8"];
  for (const ip of probes) {
    try {
      reader.getWithPrefixLength(ip);
    } catch (e) {
      throw new DataFileError("enrich_data_invalid", file, `lookup failed: ${errorText(e)}`);
    }
  }
}

function isoDate(d: Date): string {
  return Number.isNaN(d.getTime()) ? "unknown" : d.toISOString().slice(0, 10);
}
