/**
 * Bot detection with `isbot` (Unlicense; its pattern list is maintained against real crawler
 * traffic) and a bot name of our own: the User-Agent product token around isbot's most specific
 * match (`Googlebot/2.1` → `Googlebot`, `python-requests/2.31` → `python-requests`).
 * Pure functions; device detection caches the result per User-Agent.
 * @module
 */

import { isbot, isbotMatches } from "isbot";

/** Matches that say "bot" but not which one. */
const GENERIC =
  /^(bot|crawl|crawler|spider|http|https|\.com|\.net|\.org|url|python|java|headless)$/i;

/** Characters that end a product token in a User-Agent. */
const TOKEN_END = /[\s;()[\],+]/;

/** Whether a User-Agent is a bot, and which one. An empty User-Agent is not judged here. */
export function detectBot(ua: string): { isBot: boolean; name?: string } {
  if (ua === "" || !isbot(ua)) return { isBot: false };
  const matches = isbotMatches(ua);
  const specific = matches.filter((m) => !GENERIC.test(m.replace(/[\/;\s]+$/, "")));
  for (const m of [...specific, ...matches]) {
    const name = tokenAround(ua, m);
    if (name) return { isBot: true, name };
  }
  return { isBot: true };
}

/** The product name of the token holding `match`, or undefined when it is a URL or empty. */
function tokenAround(ua: string, match: string): string | undefined {
  const at = ua.indexOf(match);
  if (at < 0) return undefined;
  let start = at, end = at;
  while (start > 0 && !TOKEN_END.test(ua[start - 1])) start--;
  while (end < ua.length && !TOKEN_END.test(ua[end])) end++;
  const token = ua.slice(start, end);
  if (/^[a-z]+:\/\//i.test(token) || token.includes("@") || token.includes("://")) return undefined;
  const name = token.split("/")[0].replace(/[:;.,]+$/, "");
  if (name === "" || name.length > 64 || /^mozilla$/i.test(name)) return undefined;
  return name;
}
