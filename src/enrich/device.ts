/**
 * `device.*` from the User-Agent (`ua-parser-js` 1.x, MIT — never 2.x, which is AGPL) and from
 * client hints, which win where present; bots from `isbot` with a bot name; the header
 * fingerprint. Parse results are cached per User-Agent + hints (bounded; real traffic repeats a
 * few hundred agents). Pipeline worker and CLI. Never throws on any header value.
 * @module
 */

import { UAParser } from "ua-parser-js";
import type { DeviceGroup } from "../record/schema.ts";
import { detectBot } from "./bot_name.ts";
import { HINT_HEADERS, parseClientHints } from "./client_hints.ts";
import { headerFingerprint } from "./fingerprint.ts";
import { BoundedCache } from "./lru.ts";

/** User-Agents longer than this are parsed by their first this-many characters. */
const MAX_UA = 512;

/** Hint headers come together: without `sec-ch-ua` none is read. */
const NO_HINTS: readonly string[] = [];

const DESKTOP_OS =
  /^(windows|mac os|macos|linux|ubuntu|debian|fedora|chrom(e|ium) os|freebsd|openbsd|netbsd|solaris|arch|mint|gentoo|centos|red hat|suse)/i;

export class DeviceDetector {
  readonly cache: BoundedCache<string, DeviceGroup>;
  readonly #parser = new UAParser();

  constructor(cacheSize: number) {
    this.cache = new BoundedCache(cacheSize);
  }

  /** Device fields for a request's headers (`{name: [values]}`); a fresh object each call. */
  detect(headers: Record<string, unknown>, withFingerprint = true): DeviceGroup {
    const full = first(headers["user-agent"]) ?? "";
    const ua = full.length > MAX_UA ? full.slice(0, MAX_UA) : full;
    let key = ua;
    let hints: Record<string, string> | undefined;
    for (const name of headers["sec-ch-ua"] === undefined ? NO_HINTS : HINT_HEADERS) {
      const v = first(headers[name]);
      if (v === undefined) continue;
      (hints ??= {})[name] = v;
      key += `\n${name}:${v}`;
    }
    let base = this.cache.get(key);
    if (base === undefined) {
      base = this.#parse(ua, hints);
      this.cache.set(key, base);
    }
    const out: DeviceGroup = { ...base };
    if (withFingerprint) out.fingerprint = headerFingerprint(headers);
    return out;
  }

  #parse(ua: string, hints: Record<string, string> | undefined): DeviceGroup {
    const g: DeviceGroup = {};
    if (ua === "" && hints === undefined) return g; // nothing to judge by: fields stay absent
    if (ua !== "") {
      this.#parser.setUA(ua);
      const r = this.#parser.getResult();
      set(g, "browser_name", r.browser.name);
      set(g, "browser_version", r.browser.version);
      set(g, "engine_name", r.engine.name);
      set(g, "engine_version", r.engine.version);
      set(g, "os_name", r.os.name);
      set(g, "os_version", r.os.version);
      set(g, "vendor", r.device.vendor);
      set(g, "model", r.device.model);
      set(g, "type", r.device.type);
      set(g, "cpu_arch", r.cpu.architecture);
    }
    g.source = "ua";
    if (hints) applyHints(g, hints);
    const bot = detectBot(ua);
    g.is_bot = bot.isBot;
    if (bot.name) g.bot_name = bot.name;
    if (bot.isBot) g.type = "bot";
    else if (!g.type && g.os_name && DESKTOP_OS.test(g.os_name)) g.type = "desktop";
    return g;
  }
}

function applyHints(g: DeviceGroup, h: Record<string, string>): void {
  const f = parseClientHints(h);
  let used = false;
  const take = <K extends keyof DeviceGroup>(k: K, v: DeviceGroup[K] | undefined) => {
    if (v === undefined || v === g[k]) return;
    g[k] = v;
    used = true;
  };
  take("browser_name", f.browser_name);
  take("browser_version", f.browser_version);
  take("os_name", f.os_name);
  take("os_version", f.os_version);
  take("model", f.model);
  take("cpu_arch", f.cpu_arch);
  if (f.mobile === true && g.type === undefined) take("type", "mobile");
  if (used) g.source = "client_hints";
}

function first(v: unknown): string | undefined {
  return Array.isArray(v) && typeof v[0] === "string" ? v[0] : undefined;
}

function set<K extends keyof DeviceGroup>(g: DeviceGroup, k: K, v: DeviceGroup[K] | undefined) {
  if (v !== undefined && v !== "") g[k] = v;
}
