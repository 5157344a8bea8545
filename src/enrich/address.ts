/**
 * Everything known about one client address in one data snapshot: network type, `geo.*`,
 * `asn.*`, Anonymous-IP flags, threat-list membership and hosting AS. Computed once per address
 * and cached by the enricher (cleared when data is swapped). Pipeline worker and CLI. A lookup
 * that throws (a damaged database) is counted and leaves that group absent.
 * @module
 */

import type { AsnGroup, GeoGroup } from "../record/schema.ts";
import type { AsnTable } from "./asn_table.ts";
import type { DataSnapshot } from "./data_store.ts";
import {
  anonymousFromRecord,
  asnFromRecord,
  connectionTypeFromRecord,
  geoFromRecord,
} from "./geo_fields.ts";
import { formatV4, formatV6, type IpAddr } from "./ip.ts";
import type { MmdbDatabase } from "./mmdb.ts";
import { maskWords } from "./range_search.ts";
import { type NetworkType, networkType } from "./network_type.ts";
import type { AddressFacts } from "./threat.ts";

/** Which lookups to run (from the enrichment switches). */
export interface AddressSwitches {
  geoip: boolean;
  asn: boolean;
  threatIntel: boolean;
}

/** The cached answer for one address. Groups are frozen and shared by every record that has it. */
export interface AddressResult {
  networkType: NetworkType;
  geo?: GeoGroup;
  asn?: AsnGroup;
  facts: AddressFacts;
}

/** Called for a lookup that threw: stage (dataset) and the error. */
export type LookupErrorSink = (dataset: string, e: unknown) => void;

/** Look an address up in a snapshot. Non-public addresses are classified, never looked up. */
export function lookupAddress(
  ip: IpAddr,
  snap: DataSnapshot,
  on: AddressSwitches,
  onError: LookupErrorSink,
  onLookup: (dataset: string, hit: boolean) => void,
): AddressResult {
  const type = networkType(ip);
  const facts: AddressFacts = { networkType: type, lists: [], torList: false, hosting: false };
  const result: AddressResult = { networkType: type, facts };
  if (type !== "public") return result;
  const wantAsn = on.asn || on.threatIntel;
  if (on.geoip && snap.geo) {
    const geo = guard("geo", onError, () => findGeo(ip, snap.geo!.items));
    onLookup("geo", geo !== null);
    if (geo) result.geo = { ...geo, data_version: snap.geo.label };
  }
  if (wantAsn && snap.asn) {
    const asn = guard("asn", onError, () => findAsn(ip, snap.asn!.items));
    onLookup("asn", asn !== null);
    if (asn) {
      facts.asn = asn.number;
      if (on.asn) result.asn = { ...asn, data_version: snap.asn.label };
    }
  }
  if (on.asn && result.asn && snap.connectionType) {
    const r = guard("connection_type", onError, () => first(ip, snap.connectionType!.items));
    const ct = r ? connectionTypeFromRecord(r.record) : undefined;
    onLookup("connection_type", ct !== undefined);
    if (ct) result.asn.connection_type = ct;
  }
  if (on.threatIntel) threatFacts(ip, snap, facts, onError, onLookup);
  if (result.geo) {
    if (result.geo.location) Object.freeze(result.geo.location);
    Object.freeze(result.geo);
  }
  if (result.asn) Object.freeze(result.asn);
  return result;
}

function threatFacts(
  ip: IpAddr,
  snap: DataSnapshot,
  facts: AddressFacts,
  onError: LookupErrorSink,
  onLookup: (dataset: string, hit: boolean) => void,
): void {
  if (snap.threat) {
    const lists = snap.threat.lists;
    const mask = lists.maskOf(ip);
    onLookup("threat", mask !== 0);
    if (mask !== 0) {
      facts.lists = lists.namesOf(mask);
      facts.torList = (mask & lists.torMask) !== 0;
    }
  }
  if (snap.anonymous) {
    const r = guard("anonymous_ip", onError, () => first(ip, snap.anonymous!.items));
    onLookup("anonymous_ip", r !== null);
    if (r) facts.anonymous = anonymousFromRecord(r.record);
  }
  if (snap.hosting && facts.asn !== undefined) facts.hosting = snap.hosting.has(facts.asn);
}

const geoTemplates = new WeakMap<object, GeoGroup | null>();

function findGeo(ip: IpAddr, dbs: MmdbDatabase[]): GeoGroup | null {
  const r = first(ip, dbs);
  if (!r) return null;
  let g = geoTemplates.get(r.record);
  if (g === undefined) {
    g = geoFromRecord(r.record);
    geoTemplates.set(r.record, g);
  }
  return g;
}

function findAsn(ip: IpAddr, sources: (MmdbDatabase | AsnTable)[]): AsnGroup | null {
  for (const s of sources) {
    if ("kind" in s) {
      const r = s.lookup(ip);
      const g = r ? asnFromRecord(r.record) : null;
      if (r && g) return { ...g, network: network(ip, r.prefix) };
    } else {
      const hit = s.lookup(ip);
      if (hit) return { ...hit };
    }
  }
  return null;
}

/** The first database (in order) with a record for `ip`; IPv6 never asks IPv4-only files. */
function first(ip: IpAddr, dbs: MmdbDatabase[]) {
  for (const db of dbs) {
    const r = db.lookup(ip);
    if (r) return r;
  }
  return null;
}

function network(ip: IpAddr, prefix: number): string {
  if (ip.version === 4) {
    const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
    return `${formatV4((ip.v4 & mask) >>> 0)}/${prefix}`;
  }
  return `${formatV6(maskWords([ip.w0, ip.w1, ip.w2, ip.w3], prefix, false))}/${prefix}`;
}

function guard<T>(dataset: string, onError: LookupErrorSink, fn: () => T): T | null {
  try {
    return fn();
  } catch (e) {
    onError(dataset, e);
    return null;
  }
}
