/**
 * Reads User-Agent Client Hints (`sec-ch-ua`, `sec-ch-ua-full-version-list`, `sec-ch-ua-mobile`,
 * `sec-ch-ua-platform`, `sec-ch-ua-platform-version`, `sec-ch-ua-model`, `sec-ch-ua-arch`,
 * `sec-ch-ua-bitness`) into device fields. Hints are structured headers sent by Chromium-based
 * browsers; when present they are more exact than the frozen User-Agent string. Pure functions.
 * @module
 */

/** Device fields the hints carry (only those present). */
export interface HintFields {
  browser_name?: string;
  browser_version?: string;
  os_name?: string;
  os_version?: string;
  model?: string;
  mobile?: boolean;
  cpu_arch?: string;
}

/** The hint headers, by name (first value each). */
export type HintHeaders = Record<string, string | undefined>;

/** Header names that, when present, take part in device detection (and its cache key). */
export const HINT_HEADERS: readonly string[] = [
  "sec-ch-ua",
  "sec-ch-ua-full-version-list",
  "sec-ch-ua-mobile",
  "sec-ch-ua-platform",
  "sec-ch-ua-platform-version",
  "sec-ch-ua-model",
  "sec-ch-ua-arch",
  "sec-ch-ua-bitness",
];

/** Brands that say nothing about the browser (engine names and GREASE). */
const GENERIC_BRAND = /^(chromium|not.?a.?brand|.*not.*brand.*)$/i;

/** Fields from client hints; empty when none are present. */
export function parseClientHints(h: HintHeaders): HintFields {
  const f: HintFields = {};
  const brands = parseBrandList(h["sec-ch-ua-full-version-list"] ?? h["sec-ch-ua"]);
  const brand = brands.find((b) => !GENERIC_BRAND.test(b.brand)) ??
    brands.find((b) => /^chromium$/i.test(b.brand));
  if (brand) {
    f.browser_name = brand.brand === "Google Chrome" ? "Chrome" : brand.brand;
    f.browser_version = brand.version;
  }
  const platform = sfString(h["sec-ch-ua-platform"]);
  if (platform) f.os_name = platform === "macOS" ? "Mac OS" : platform;
  const pv = sfString(h["sec-ch-ua-platform-version"]);
  if (pv && platform) f.os_version = osVersion(platform, pv);
  const model = sfString(h["sec-ch-ua-model"]);
  if (model) f.model = model;
  const mobile = h["sec-ch-ua-mobile"]?.trim();
  if (mobile === "?1") f.mobile = true;
  else if (mobile === "?0") f.mobile = false;
  const arch = cpuArch(sfString(h["sec-ch-ua-arch"]), sfString(h["sec-ch-ua-bitness"]));
  if (arch) f.cpu_arch = arch;
  return f;
}

/** `"Chromium";v="124", "Google Chrome";v="124"` → brands with versions. */
export function parseBrandList(v: string | undefined): { brand: string; version: string }[] {
  if (!v) return [];
  const out: { brand: string; version: string }[] = [];
  const re = /"((?:[^"\\]|\\.)*)"\s*;\s*v\s*=\s*"((?:[^"\\]|\\.)*)"/g;
  for (let m = re.exec(v); m !== null; m = re.exec(v)) {
    out.push({ brand: m[1].replace(/\\(.)/g, "$1"), version: m[2] });
  }
  return out;
}

/** A structured-field string `"x"` → `x`; undefined when absent or empty. */
function sfString(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const t = v.trim();
  const s = t.startsWith('"') && t.endsWith('"') && t.length >= 2 ? t.slice(1, -1) : t;
  return s === "" ? undefined : s.replace(/\\(.)/g, "$1");
}

/** Windows reports 13+ for Windows 11 and 1–10 for Windows 10 (0 for 7/8/8.1). */
function osVersion(platform: string, pv: string): string {
  if (platform !== "Windows") return pv.replace(/(\.0)+$/, "") || pv;
  const major = Number(pv.split(".")[0]);
  if (!Number.isFinite(major)) return pv;
  if (major >= 13) return "11";
  return major > 0 ? "10" : "7/8";
}

/** Hint architecture + bitness → the names ua-parser-js uses (`amd64`, `arm64`, `ia32`, `arm`). */
function cpuArch(arch: string | undefined, bitness: string | undefined): string | undefined {
  if (!arch) return undefined;
  const a = arch.toLowerCase();
  if (a === "x86") return bitness === "64" ? "amd64" : "ia32";
  if (a === "arm") return bitness === "64" ? "arm64" : "arm";
  return a;
}
