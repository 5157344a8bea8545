/**
 * Maps MaxMind-format records to the record's groups: GeoIP2/GeoLite2/DB-IP City and Country
 * (nested `country.iso_code`, `city.names.en`, …) and ip-location-db's flat layout
 * (`country_code`, `state1`, `city`, …) to `geo.*`; ASN/ISP records to `asn.*`; Anonymous-IP and
 * Connection-Type records to flags. Country names and continents missing from a flat record come
 * from `countries-list` (MIT). Pure functions; values the record does not carry stay absent.
 * @module
 */

import { countries } from "countries-list";
import type { AsnGroup, GeoGroup } from "../record/schema.ts";

type Obj = Record<string, unknown>;

const COUNTRIES = countries as unknown as Record<string, { name: string; continent: string }>;

/** `geo.*` from a City or Country record of either layout; null when it names no place. */
export function geoFromRecord(r: Obj): GeoGroup | null {
  const g: GeoGroup = typeof r.country_code === "string" ? flatGeo(r) : nestedGeo(r);
  const info = g.country_iso_code ? COUNTRIES[g.country_iso_code] : undefined;
  if (info) {
    g.country_name ??= info.name;
    g.continent_code ??= info.continent;
  }
  return Object.keys(g).length > 0 ? g : null;
}

function flatGeo(r: Obj): GeoGroup {
  const g: GeoGroup = {};
  set(g, "country_iso_code", text(r.country_code)?.toUpperCase());
  set(g, "region_name", text(r.state1));
  set(g, "city_name", text(r.city));
  set(g, "postal_code", text(r.postcode));
  set(g, "timezone", text(r.timezone));
  const lat = r.latitude, lon = r.longitude;
  if (typeof lat === "number" && typeof lon === "number" && !(lat === 0 && lon === 0)) {
    g.location = { lat: round4(lat), lon: round4(lon) };
  }
  return g;
}

function nestedGeo(r: Obj): GeoGroup {
  const g: GeoGroup = {};
  const country = obj(r.country) ?? obj(r.registered_country);
  set(g, "continent_code", text(obj(r.continent)?.code));
  set(g, "country_iso_code", text(country?.iso_code));
  set(g, "country_name", nameOf(country));
  const sub = Array.isArray(r.subdivisions) ? obj(r.subdivisions[0]) : undefined;
  const subCode = text(sub?.iso_code);
  if (subCode && g.country_iso_code) g.region_iso_code = `${g.country_iso_code}-${subCode}`;
  set(g, "region_name", nameOf(sub));
  set(g, "city_name", nameOf(obj(r.city)));
  set(g, "postal_code", text(obj(r.postal)?.code));
  const loc = obj(r.location);
  if (loc && typeof loc.latitude === "number" && typeof loc.longitude === "number") {
    g.location = { lat: round4(loc.latitude), lon: round4(loc.longitude) };
  }
  if (loc && typeof loc.accuracy_radius === "number") g.accuracy_radius_km = loc.accuracy_radius;
  set(g, "timezone", text(loc?.time_zone));
  return g;
}

/** `asn.*` from an ASN or ISP record (or a City record's traits); null without a number. */
export function asnFromRecord(r: Obj): AsnGroup | null {
  const src = typeof r.autonomous_system_number === "number" ? r : obj(r.traits) ?? r;
  const n = src.autonomous_system_number;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0) return null;
  const g: AsnGroup = { number: n };
  set(g, "organization", text(src.autonomous_system_organization) ?? text(src.organization));
  return g;
}

/** Anonymous-IP flags (MaxMind names), only those set. */
export interface AnonymousFlags {
  anonymous?: boolean;
  vpn?: boolean;
  hosting?: boolean;
  publicProxy?: boolean;
  residentialProxy?: boolean;
  torExit?: boolean;
}

/** Flags from an Anonymous-IP record (or City/Enterprise traits). */
export function anonymousFromRecord(r: Obj): AnonymousFlags {
  const t = obj(r.traits) ?? r;
  const f: AnonymousFlags = {};
  if (t.is_anonymous === true) f.anonymous = true;
  if (t.is_anonymous_vpn === true) f.vpn = true;
  if (t.is_hosting_provider === true) f.hosting = true;
  if (t.is_public_proxy === true || t.is_anonymous_proxy === true) f.publicProxy = true;
  if (t.is_residential_proxy === true) f.residentialProxy = true;
  if (t.is_tor_exit_node === true) f.torExit = true;
  return f;
}

/** `Cable/DSL`, `Cellular`, … from a Connection-Type record. */
export function connectionTypeFromRecord(r: Obj): string | undefined {
  return text(r.connection_type) ?? text(obj(r.traits)?.connection_type);
}

function nameOf(o: Obj | undefined): string | undefined {
  const names = obj(o?.names);
  return text(names?.en) ?? text(o?.name);
}

function obj(v: unknown): Obj | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? v as Obj : undefined;
}

function text(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

function set<T extends object, K extends keyof T>(o: T, k: K, v: T[K] | undefined): void {
  if (v !== undefined) o[k] = v;
}

function round4(n: number): number {
  return Math.round(n * 10_000) / 10_000;
}
