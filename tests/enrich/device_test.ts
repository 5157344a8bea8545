import assert from "node:assert/strict";
import { detectBot } from "../../src/enrich/bot_name.ts";
import { parseBrandList, parseClientHints } from "../../src/enrich/client_hints.ts";
import { DeviceDetector } from "../../src/enrich/device.ts";
import { headerFingerprint } from "../../src/enrich/fingerprint.ts";

const CHROME_WIN =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";
const IPHONE =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
const GALAXY =
  "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36";

const h = (o: Record<string, string>) =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, [v]]));

Deno.test("DeviceDetector reads browsers, OS, devices and CPU from User-Agents", () => {
  const d = new DeviceDetector(100);
  const win = d.detect(h({ "user-agent": CHROME_WIN }), false);
  assert.deepEqual(win, {
    browser_name: "Chrome",
    browser_version: "124.0.0.0",
    engine_name: "Blink",
    engine_version: "124.0.0.0",
    os_name: "Windows",
    os_version: "10",
    cpu_arch: "amd64",
    source: "ua",
    is_bot: false,
    type: "desktop",
  });
  const phone = d.detect(h({ "user-agent": IPHONE }), false);
  assert.equal(phone.type, "mobile");
  assert.equal(phone.vendor, "Apple");
  assert.equal(phone.os_name, "iOS");
  assert.equal(phone.os_version, "17.4");
  const galaxy = d.detect(h({ "user-agent": GALAXY }), false);
  assert.deepEqual([galaxy.vendor, galaxy.model, galaxy.type], ["Samsung", "SM-S918B", "mobile"]);
});

Deno.test("DeviceDetector prefers client hints over the frozen User-Agent", () => {
  const d = new DeviceDetector(100);
  const g = d.detect(
    h({
      "user-agent": CHROME_WIN,
      "sec-ch-ua": '"Chromium";v="124", "Google Chrome";v="124", "Not-A.Brand";v="99"',
      "sec-ch-ua-full-version-list":
        '"Chromium";v="124.0.6367.91", "Google Chrome";v="124.0.6367.91", "Not-A.Brand";v="99.0.0.0"',
      "sec-ch-ua-platform": '"Windows"',
      "sec-ch-ua-platform-version": '"15.0.0"',
      "sec-ch-ua-arch": '"arm"',
      "sec-ch-ua-bitness": '"64"',
      "sec-ch-ua-mobile": "?0",
    }),
    false,
  );
  assert.equal(g.browser_version, "124.0.6367.91");
  assert.equal(g.os_version, "11", "platform version 13+ is Windows 11");
  assert.equal(g.cpu_arch, "arm64");
  assert.equal(g.source, "client_hints");
});

Deno.test("parseClientHints() skips GREASE brands and reads structured strings", () => {
  assert.deepEqual(
    parseBrandList('"Not)A;Brand";v="8", "Chromium";v="138", "Microsoft Edge";v="138"'),
    [
      { brand: "Not)A;Brand", version: "8" },
      { brand: "Chromium", version: "138" },
      { brand: "Microsoft Edge", version: "138" },
    ],
  );
  const f = parseClientHints({
    "sec-ch-ua": '"Not)A;Brand";v="8", "Chromium";v="138", "Microsoft Edge";v="138"',
    "sec-ch-ua-platform": '"macOS"',
    "sec-ch-ua-mobile": "?1",
    "sec-ch-ua-model": '"Pixel 8"',
  });
  assert.deepEqual(f, {
    browser_name: "Microsoft Edge",
    browser_version: "138",
    os_name: "Mac OS",
    model: "Pixel 8",
    mobile: true,
  });
});

Deno.test("detectBot() flags crawlers and tools and names them", () => {
  const cases: [string, string | undefined][] = [
    ["Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "Googlebot"],
    [
      "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36",
      "bingbot",
    ],
    ["Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", "AhrefsBot"],
    ["Mozilla/5.0 (compatible; GPTBot/1.0; +https://openai.com/gptbot)", "GPTBot"],
    ["curl/8.5.0", "curl"],
    ["python-requests/2.31.0", "python-requests"],
    ["Go-http-client/1.1", "Go-http-client"],
    [
      "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
      "facebookexternalhit",
    ],
  ];
  for (const [ua, name] of cases) assert.deepEqual(detectBot(ua), { isBot: true, name }, ua);
  for (const ua of [CHROME_WIN, IPHONE, GALAXY, ""]) assert.equal(detectBot(ua).isBot, false, ua);
});

Deno.test("headerFingerprint() is stable per client and differs between clients", () => {
  const browser = h({
    "user-agent": CHROME_WIN,
    "accept-language": "en-GB,en;q=0.9",
    "accept-encoding": "gzip, br",
    accept: "*/*",
  });
  const same = {
    ...browser,
    cookie: ["a=1"],
    referer: ["https://x.example/"],
    "x-request-id": ["42"],
    "sec-fetch-dest": ["image"],
  };
  assert.match(headerFingerprint(browser), /^hf1:[0-9a-f]{16}$/);
  assert.equal(
    headerFingerprint(same),
    headerFingerprint(browser),
    "per-request headers do not count",
  );
  const otherLang = { ...browser, "accept-language": ["de-DE"] };
  assert.notEqual(headerFingerprint(otherLang), headerFingerprint(browser));
  const curl = h({ "user-agent": "curl/8.5.0", accept: "*/*" });
  assert.notEqual(headerFingerprint(curl), headerFingerprint(browser));
  const extraHeader = { ...browser, dnt: ["1"] };
  assert.notEqual(headerFingerprint(extraHeader), headerFingerprint(browser));
});

Deno.test("DeviceDetector cache is bounded and hits on repeated agents (Zipf traffic)", () => {
  const d = new DeviceDetector(200);
  const agents = Array.from(
    { length: 2000 },
    (_, i) => `Mozilla/5.0 (X11; Linux x86_64) Firefox/${i}.0`,
  );
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const weights = agents.map((_, i) => 1 / (i + 1));
  const total = weights.reduce((a, b) => a + b, 0);
  for (let n = 0; n < 20_000; n++) {
    let x = rand() * total, i = 0;
    while (x > weights[i]) x -= weights[i++];
    d.detect(h({ "user-agent": agents[Math.min(i, agents.length - 1)] }), false);
  }
  const c = d.cache;
  assert.ok(c.size <= 200, `size ${c.size}`);
  const hitRate = c.hits / (c.hits + c.misses);
  assert.ok(hitRate > 0.5, `hit rate ${hitRate}`);
  assert.ok(c.evictions > 0);
});

Deno.test("DeviceDetector leaves fields absent without User-Agent or hints", () => {
  const d = new DeviceDetector(10);
  assert.deepEqual(d.detect({}, false), {});
});
