/**
 * Threat lists: parses list files and answers "which lists hold this address" by one binary
 * search. Formats, detected line by line: plain IPs and CIDRs (FireHOL netsets, most blocklists),
 * `a.b.c.d-e.f.g.h` ranges, Spamhaus DROP lines (`CIDR ; SBL123`) and its JSON lines
 * (`{"cidr":…}`), and Tor's exit lists (`ExitAddress 1.2.3.4 …`, or one IP a line). `#`, `;` and
 * `//` start comments. A list named `tor…`, or in the exit-addresses format, is a Tor exit list.
 * Pipeline worker (loading: at start and on reload) and CLI. Throws `DataFileError` for a file
 * with no usable address; never touches the network.
 * @module
 */

import { DataFileError } from "./errors.ts";
import { type IpAddr, parseIp } from "./ip.ts";
import { maskWords } from "./range_search.ts";
import { findV4, findV6 } from "./range_search.ts";

/** At most this many lists can be loaded at once (one bit each). */
export const MAX_LISTS = 32;

/** One parsed list. Ranges are inclusive; IPv6 bounds as BigInt. */
export interface ParsedList {
  name: string;
  isTor: boolean;
  v4: [number, number][];
  v6: [bigint, bigint][];
  entries: number;
  invalidLines: number;
}

/** Parse one list's text. `name` goes into `threat.lists`. */
export function parseThreatList(text: string, name: string, file = name): ParsedList {
  const list: ParsedList = {
    name,
    isTor: /^tor/i.test(name),
    v4: [],
    v6: [],
    entries: 0,
    invalidLines: 0,
  };
  let exitFormat = false;
  for (const raw of text.split("\n")) {
    const token = entryToken(raw);
    if (token === null) continue;
    if (token === "exit") {
      exitFormat = true;
      continue;
    }
    if (addEntry(token.startsWith("ExitAddress ") ? token.split(/\s+/)[1] : token, list)) {
      list.entries++;
    } else list.invalidLines++;
    if (token.startsWith("ExitAddress ")) exitFormat = true;
  }
  if (exitFormat) list.isTor = true;
  if (list.entries === 0) {
    throw new DataFileError("enrich_data_invalid", file, "no IP address or CIDR found in the list");
  }
  if (list.invalidLines > list.entries) {
    const why = `${list.invalidLines} unreadable lines against ${list.entries} entries`;
    throw new DataFileError(
      "enrich_data_invalid",
      file,
      `${why}: not a list format Telemetry reads`,
    );
  }
  return list;
}

/** The address part of a line; null for comments/blank; `exit` for Tor descriptor lines. */
function entryToken(raw: string): string | null {
  let line = raw.trim();
  if (line === "" || line[0] === "#" || line[0] === ";" || line.startsWith("//")) return null;
  if (line[0] === "{") {
    const m = /"cidr"\s*:\s*"([^"]+)"/.exec(line);
    return m ? m[1] : null; // JSON metadata lines (no cidr) carry no address
  }
  if (/^(ExitNode|Published|LastStatus)\b/.test(line)) return "exit";
  if (line.startsWith("ExitAddress ")) return line;
  const cut = line.search(/[\s;#]/);
  if (cut >= 0) line = line.slice(0, cut);
  return line === "" ? null : line;
}

function addEntry(token: string, list: ParsedList): boolean {
  const dash = token.indexOf("-");
  if (dash > 0 && token.indexOf(":") < 0) {
    const a = parseIp(token.slice(0, dash)), b = parseIp(token.slice(dash + 1));
    if (!a || !b || a.version !== 4 || b.version !== 4 || b.v4 < a.v4) return false;
    list.v4.push([a.v4, b.v4]);
    return true;
  }
  const slash = token.indexOf("/");
  const ip = parseIp(slash < 0 ? token : token.slice(0, slash));
  if (!ip) return false;
  const max = ip.version === 4 && !ip.mapped ? 32 : 128;
  const len = slash < 0 ? max : Number(token.slice(slash + 1));
  if (
    !Number.isInteger(len) || len < 0 || len > max ||
    (slash >= 0 && !/^\d+$/.test(token.slice(slash + 1)))
  ) {
    return false;
  }
  if (ip.version === 4) {
    const v4len = ip.mapped ? Math.max(0, len - 96) : len;
    const size = 2 ** (32 - v4len);
    const base = Math.floor(ip.v4 / size) * size;
    list.v4.push([base, base + size - 1]);
    return true;
  }
  const w = [ip.w0, ip.w1, ip.w2, ip.w3];
  list.v6.push([big(maskWords(w, len, false)), big(maskWords(w, len, true))]);
  return true;
}

function big(w: number[]): bigint {
  return (BigInt(w[0]) << 96n) | (BigInt(w[1]) << 64n) | (BigInt(w[2]) << 32n) | BigInt(w[3]);
}

function words(b: bigint): number[] {
  return [
    Number(b >> 96n),
    Number((b >> 64n) & 0xffffffffn),
    Number((b >> 32n) & 0xffffffffn),
    Number(b & 0xffffffffn),
  ];
}

/** The loaded lists: disjoint segments, each with the bit mask of the lists that hold it. */
export class ThreatListSet {
  readonly names: readonly string[];
  readonly torMask: number;
  readonly #s4: Uint32Array;
  readonly #e4: Uint32Array;
  readonly #m4: Uint32Array;
  readonly #s6: Uint32Array;
  readonly #e6: Uint32Array;
  readonly #m6: Uint32Array;
  readonly #namesByMask = new Map<number, string[]>();

  constructor(lists: readonly ParsedList[]) {
    if (lists.length > MAX_LISTS) {
      throw new DataFileError(
        "enrich_data_invalid",
        "threat-lists",
        `more than ${MAX_LISTS} lists`,
      );
    }
    this.names = lists.map((l) => l.name);
    this.torMask = lists.reduce((m, l, i) => l.isTor ? (m | (1 << i)) >>> 0 : m, 0);
    const s4 = sweep(
      lists.map((l) => l.v4.map(([a, b]) => [BigInt(a), BigInt(b)] as [bigint, bigint])),
    );
    this.#s4 = Uint32Array.from(s4.map((x) => Number(x[0])));
    this.#e4 = Uint32Array.from(s4.map((x) => Number(x[1])));
    this.#m4 = Uint32Array.from(s4.map((x) => x[2]));
    const s6 = sweep(lists.map((l) => l.v6));
    this.#s6 = Uint32Array.from(s6.flatMap((x) => words(x[0])));
    this.#e6 = Uint32Array.from(s6.flatMap((x) => words(x[1])));
    this.#m6 = Uint32Array.from(s6.map((x) => x[2]));
  }

  /** Segments held (for metrics and tests). */
  get segments(): number {
    return this.#s4.length + this.#m6.length;
  }

  /** Bit mask of the lists holding `ip` (bit i = list i); 0 when none. */
  maskOf(ip: IpAddr): number {
    if (ip.version === 4) {
      const i = findV4(this.#s4, this.#e4, ip.v4);
      return i < 0 ? 0 : this.#m4[i];
    }
    const i = findV6(this.#s6, this.#e6, ip);
    return i < 0 ? 0 : this.#m6[i];
  }

  /** List names of a mask, in load order (the same array for the same mask). */
  namesOf(mask: number): string[] {
    let names = this.#namesByMask.get(mask);
    if (!names) {
      names = this.names.filter((_, i) => (mask & (1 << i)) !== 0);
      this.#namesByMask.set(mask, names);
    }
    return names;
  }
}

/** Disjoint segments [start, end, mask] from per-list ranges (list i sets bit i). */
function sweep(perList: [bigint, bigint][][]): [bigint, bigint, number][] {
  const events: [bigint, number, number][] = [];
  perList.forEach((ranges, bit) => {
    for (const [a, b] of ranges) events.push([a, bit, 1], [b + 1n, bit, -1]);
  });
  events.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  const counts = new Array<number>(perList.length).fill(0);
  const out: [bigint, bigint, number][] = [];
  let mask = 0, from = 0n;
  for (let i = 0; i < events.length;) {
    const at = events[i][0];
    if (mask !== 0 && at > from) push(out, from, at - 1n, mask);
    for (; i < events.length && events[i][0] === at; i++) counts[events[i][1]] += events[i][2];
    mask = counts.reduce((m, c, bit) => c > 0 ? (m | (1 << bit)) >>> 0 : m, 0);
    from = at;
  }
  return out;
}

function push(out: [bigint, bigint, number][], a: bigint, b: bigint, mask: number): void {
  const last = out[out.length - 1];
  if (last && last[2] === mask && last[1] + 1n === a) last[1] = b;
  else out.push([a, b, mask]);
}
