/**
 * Redaction end to end: thousands of planted PII values and secrets (paths, query strings,
 * headers, the client address) go through the agent with redaction on; none of them, in any
 * form (raw, percent-encoded, digits only, unkeyed SHA-256/SHA-1/MD5), appears in the NDJSON the
 * file sink writes, and non-PII controls survive. Also: the safe defaults with no `redaction`
 * block, and `enabled false` being loud at start-up.
 */

import assert from "node:assert/strict";
import { startAgent } from "../helpers/agent.ts";
import { connectV2 } from "../helpers/proxy_client.ts";
import { type JsonObject, requestHeadersEvent } from "../helpers/proxy_encode.ts";
import { readRecords } from "../helpers/records.ts";
import { Corpus, type CorpusRequest, enc, findLeaks, type Planted } from "../redact/_corpus.ts";

const N = 1000;
const SECRET = "e2e-hash-secret-" + "x".repeat(24);

function requestEvent(cid: string, req: CorpusRequest): JsonObject {
  const ev = requestHeadersEvent(cid, {
    method: req.method,
    uri: req.uri,
    headers: req.headers,
  });
  (ev.metadata as JsonObject).client_ip = `${req.clientIp}:${40000 + (cid.length % 1000)}`;
  return ev;
}

async function sendAll(path: string, reqs: CorpusRequest[], cookies: string[]): Promise<void> {
  const c = await connectV2(path, { encodings: ["json"] });
  for (let i = 0; i < reqs.length; i++) {
    const cid = `leak-${i}`;
    await c.send("request_headers", requestEvent(cid, reqs[i]));
    await c.send("response_headers", {
      correlation_id: cid,
      status: 200,
      headers: { "content-type": ["text/html"], "set-cookie": [`sid=${cookies[i]}; HttpOnly`] },
    });
    if (i % 100 === 99) {
      for (let j = i - 99; j <= i; j++) {
        await c.answer(`leak-${j}`);
        await c.answer(`leak-${j}`);
      }
    }
  }
  assert.deepEqual(c.violations, []);
  await c.close();
}

Deno.test("redaction e2e: 0 leaks of thousands of planted values; controls survive", async () => {
  const keyFile = await Deno.makeTempFile({ prefix: "telemetry-hash-key-" });
  await Deno.writeTextFile(keyFile, SECRET + "\n");
  await using agent = await startAgent({
    config: `redaction {
    preset "gdpr" "pci" "hipaa"
    detectors { email "hash"; phone "mask"; ipv4 "mask"; ipv6 "mask"; }
    credential-action "hash"
    hash-key-file "${keyFile}"
    key-id "k2026"
}
sink "file" { directory "./data"; flush-interval-ms 100; }`,
  });
  const corpus = new Corpus(2026);
  const reqs = Array.from({ length: N }, (_, i) => corpus.request(i));
  const cookies = reqs.map(() => corpus.secret());
  await sendAll(agent.socketPath, reqs, cookies);
  assert.equal((await agent.stop()).code, 0);
  await Deno.remove(keyFile);

  const records = await readRecords(agent);
  assert.equal(records.length, N);
  const byCid = new Map(records.map((r) => [r.request.correlation_id, r]));
  const planted: Planted[] = [];
  const leaks: Planted[] = [];
  let controls = 0, lost = 0;
  for (let i = 0; i < N; i++) {
    const text = JSON.stringify(byCid.get(`leak-${i}`));
    const mine = [...reqs[i].planted, {
      kind: "credential-header" as const,
      value: cookies[i],
      where: "set-cookie",
    }];
    planted.push(...mine);
    leaks.push(...findLeaks(text, mine));
    for (const c of reqs[i].controls) {
      controls++;
      if (!text.includes(c) && !text.includes(enc(c))) lost++;
    }
  }
  // Across records too, for a sample (each value against every record written).
  const all = records.map((r) => JSON.stringify(r)).join("\n");
  leaks.push(...findLeaks(all, planted.filter((_, k) => k % 50 === 0)));
  const logs = agent.stderrText();
  console.log(
    `planted ${planted.length} values in ${N} requests: ${leaks.length} leaks; ` +
      `controls ${controls}: ${lost} lost (false-positive rate ${
        (100 * lost / controls).toFixed(3)
      }%)`,
  );
  assert.ok(planted.length >= 15_000);
  assert.deepEqual(leaks.slice(0, 5), []);
  assert.ok(lost / controls <= 0.005, `${lost} of ${controls} controls lost`);
  // Keyed hashes are there, carry the key id, and join: one value, one token.
  assert.match(all, /\[HMAC:k2026:[A-Za-z0-9_-]{22}\]/);
  const r0 = byCid.get("leak-0")!;
  assert.match(r0.request.headers?.authorization?.[0] ?? "", /^\[HMAC:k2026:/);
  assert.match(r0.response?.headers?.["set-cookie"]?.[0] ?? "", /^\[HMAC:k2026:/);
  assert.equal(r0.client?.ip, undefined, "hipaa drops the client IP");
  // The secret is never logged; the policy is.
  assert.equal(logs.includes(SECRET), false);
  assert.ok(agent.logs().some((l) => l.msg === "redaction policy" && l.key_id === "k2026"));
});

Deno.test("redaction e2e: with no redaction block the safe defaults apply", async () => {
  await using agent = await startAgent({
    config: `sink "file" { directory "./data"; flush-interval-ms 100; }`,
  });
  const c = await connectV2(agent.socketPath, { encodings: ["json"] });
  const uri = "/u/jane.roe%40example.com?card=4111-1111-1111-1111&password=hunter2xyz" +
    "&iban=GB82WEST12345698765432&order=ORD-2026-000042&v=1.2.3";
  await c.send(
    "request_headers",
    requestHeadersEvent("d1", {
      uri,
      headers: {
        host: ["shop.example.com"],
        authorization: ["Bearer abc.def.ghi"],
        cookie: ["sid=s3cret"],
        "user-agent": ["Mozilla/5.0 (contact ops@example.org)"],
      },
    }),
  );
  await c.send("response_headers", { correlation_id: "d1", status: 200, headers: {} });
  await c.answer("d1");
  await c.answer("d1");
  await c.close();
  assert.equal((await agent.stop()).code, 0);
  const [r] = await readRecords(agent);
  const text = JSON.stringify(r);
  for (const v of ["jane.roe", "4111", "hunter2xyz", "GB82WEST", "s3cret", "abc.def", "ops@"]) {
    assert.equal(text.includes(v), false, `${v} leaked: ${text}`);
  }
  assert.equal(r.request.path, "/u/[REDACTED:email]");
  assert.match(r.request.query!, /order=ORD-2026-000042&v=1\.2\.3$/);
  assert.equal(r.request.headers?.authorization, undefined);
  assert.equal(r.client?.ip, "203.0.113.7", "the client IP is kept by default");
});

Deno.test("redaction e2e: switching redaction off is logged as a warning at start-up", async () => {
  await using agent = await startAgent({
    config: `redaction { enabled false; }\nsink "file" { directory "./data"; }`,
  });
  const line = agent.logs().find((l) => String(l.msg).startsWith("redaction is OFF"));
  assert.ok(line, agent.stderrText());
  assert.equal(line.level, "warn");
  const c = await connectV2(agent.socketPath, { encodings: ["json"] });
  await c.send(
    "request_headers",
    requestHeadersEvent("off-1", {
      uri: "/u?email=jane%40example.com",
      headers: { host: ["h"], authorization: ["Bearer abcdefgh12345678"] },
    }),
  );
  await c.send("response_headers", { correlation_id: "off-1", status: 200, headers: {} });
  await c.answer("off-1");
  await c.answer("off-1");
  await c.close();
  assert.equal((await agent.stop()).code, 0);
  const [r] = await readRecords(agent);
  assert.equal(r.request.query, "email=jane%40example.com", "not scanned when off");
  assert.equal(r.request.headers?.authorization, undefined, "credentials still protected");
});
