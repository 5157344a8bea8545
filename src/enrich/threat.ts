/**
 * `threat.*`: what is known against the client address and request, as flags, list names and a
 * 0–100 score whose `reasons[]` say where every point came from. Signals: known-bad lists, Tor
 * exit (lists or Anonymous-IP data), Anonymous-IP VPN/proxy flags, hosting ASN, open-proxy request
 * headers (Via, proxy headers, forwarded-chain anomalies), bogon source, a search-engine bot name
 * from an AS that engine does not use. Pure functions; weights are documented in
 * docs/enrichment.md.
 * @module
 */

import type { ThreatGroup } from "../record/schema.ts";
import type { AnonymousFlags } from "./geo_fields.ts";
import { parseIp } from "./ip.ts";
import { IMPOSSIBLE_SOURCES, type NetworkType, networkType } from "./network_type.ts";

/** What is known about the client address (computed once per address, cached). */
export interface AddressFacts {
  /** Undefined when the client address is unknown or unreadable. */
  networkType?: NetworkType;
  lists: string[];
  torList: boolean;
  hosting: boolean;
  asn?: number;
  anonymous?: AnonymousFlags;
}

/** Points per signal. The score is their sum, capped at 100. */
export const WEIGHTS = {
  firstList: 60,
  extraList: 10,
  torExit: 40,
  publicProxy: 40,
  residentialProxy: 30,
  vpn: 25,
  anonymous: 20,
  hosting: 15,
  viaHeader: 10,
  proxyHeader: 15,
  forwardedLong: 10,
  forwardedBad: 15,
  bogon: 30,
  fakeBot: 40,
} as const;

/** Longest believable `x-forwarded-for` chain before a request counts as relayed oddly. */
const MAX_FORWARDED_HOPS = 5;

/** Headers only proxies (or clients configured for one) send. */
const PROXY_HEADERS = ["proxy-connection", "x-proxy-id", "proxy-agent", "x-proxy-connection"];

/** Search-engine crawlers and the AS numbers they crawl from. */
const CRAWLER_ASNS: Readonly<Record<string, readonly number[]>> = {
  googlebot: [15169, 396982, 19527],
  bingbot: [8075],
  applebot: [714, 6185],
  yandexbot: [13238],
};

/** Assemble the group from address facts, request headers and the device's bot name. */
export function threatGroup(
  facts: AddressFacts,
  headers: Record<string, unknown>,
  botName?: string,
): ThreatGroup {
  const reasons: string[] = [];
  let score = 0;
  const add = (points: number, reason: string) => {
    score += points;
    reasons.push(reason);
  };
  facts.lists.forEach((name, i) =>
    add(i === 0 ? WEIGHTS.firstList : WEIGHTS.extraList, `list:${name}`)
  );
  const a = facts.anonymous ?? {};
  const tor = facts.torList || a.torExit === true;
  if (tor) add(WEIGHTS.torExit, "tor_exit");
  if (a.publicProxy) add(WEIGHTS.publicProxy, "public_proxy");
  if (a.residentialProxy) add(WEIGHTS.residentialProxy, "residential_proxy");
  if (a.vpn) add(WEIGHTS.vpn, "anonymous_vpn");
  else if (a.anonymous && !tor && !a.publicProxy) add(WEIGHTS.anonymous, "anonymous");
  const hosting = facts.hosting || a.hosting === true;
  if (hosting) add(WEIGHTS.hosting, "hosting_asn");
  const proxySignals = openProxySignals(headers);
  for (const r of proxySignals) add(proxyWeight(r), r);
  const type = facts.networkType;
  if (type && IMPOSSIBLE_SOURCES.has(type)) add(WEIGHTS.bogon, `bogon_source:${type}`);
  if (botName && isFakeCrawler(botName, facts.asn)) add(WEIGHTS.fakeBot, "bot_asn_mismatch");
  const g: ThreatGroup = {
    is_known_bad: facts.lists.length > 0,
    is_tor_exit: tor,
    is_proxy: a.publicProxy === true || a.residentialProxy === true ||
      proxySignals.includes("via_header") || proxySignals.includes("proxy_header"),
    is_hosting: hosting,
    score: Math.min(100, score),
    reasons,
  };
  if (type) g.is_bogon = type !== "public";
  if (facts.lists.length > 0) g.lists = facts.lists;
  if (a.vpn) g.is_vpn = true;
  return g;
}

/** Open-proxy signals in the request headers, as reasons. */
export function openProxySignals(headers: Record<string, unknown>): string[] {
  const out: string[] = [];
  if (Array.isArray(headers.via) && headers.via.length > 0) out.push("via_header");
  if (PROXY_HEADERS.some((h) => headers[h] !== undefined)) out.push("proxy_header");
  const xff = headers["x-forwarded-for"];
  if (Array.isArray(xff) && xff.length > 0) {
    const hops = xff.join(",").split(",").map((s) => s.trim()).filter((s) => s !== "");
    if (hops.length > MAX_FORWARDED_HOPS) out.push("forwarded_chain_long");
    if (hops.some((h) => !forwardedHopOk(h))) out.push("forwarded_chain_invalid");
  }
  return out;
}

/** A hop is fine when it is an address (optionally with a port) of a possible source. */
function forwardedHopOk(hop: string): boolean {
  if (hop === "unknown") return true;
  const bare = hop.startsWith("[")
    ? hop.slice(1, hop.indexOf("]"))
    : /^[\d.]+:\d+$/.test(hop)
    ? hop.slice(0, hop.indexOf(":"))
    : hop;
  const ip = parseIp(bare);
  return ip !== null && !IMPOSSIBLE_SOURCES.has(networkType(ip));
}

function proxyWeight(reason: string): number {
  switch (reason) {
    case "via_header":
      return WEIGHTS.viaHeader;
    case "proxy_header":
      return WEIGHTS.proxyHeader;
    case "forwarded_chain_long":
      return WEIGHTS.forwardedLong;
    default:
      return WEIGHTS.forwardedBad;
  }
}

/** A known crawler's name from an AS it does not crawl from (unknown AS: not judged). */
function isFakeCrawler(botName: string, asn: number | undefined): boolean {
  const asns = CRAWLER_ASNS[botName.toLowerCase()];
  return asns !== undefined && asn !== undefined && !asns.includes(asn);
}
