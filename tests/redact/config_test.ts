import assert from "node:assert/strict";
import { loadConfigText } from "../../src/config/load.ts";
import { redactionToJson, redactionToKdl } from "../../src/redact/config.ts";
import { configIssues } from "../helpers/config.ts";

Deno.test("redaction: no block leaves the section absent (safe defaults apply)", () => {
  assert.equal(loadConfigText("", "t.kdl").config.redaction, undefined);
});

Deno.test("redaction: every key loads", () => {
  const { config, setKeys } = loadConfigText(
    `redaction {
  preset "gdpr" "pci"
  request-headers ["accept" "user-agent"]
  response-headers "content-type"
  credential-headers "x-my-token"
  credential-action "hash"
  sensitive-keys ["member_no"]
  sensitive-key-action "drop"
  client-ip "truncate"
  ipv4-prefix 16
  ipv6-prefix 32
  hash-key-file "/etc/telemetry/hash.key"
  key-id "k2026"
  max-scan-chars 4096
  detectors { email "hash"; phone "off"; ipv6 "mask" }
  fields user-agent="keep" referer="drop"
  pattern "order-ref" "ORD-[0-9]{8}" action="hash"
  pattern "ticket" "tk_[a-z0-9]+" ignore-case=true
}`,
    "t.kdl",
  );
  assert.deepEqual(config.redaction, {
    presets: ["gdpr", "pci"],
    requestHeaders: ["accept", "user-agent"],
    responseHeaders: ["content-type"],
    credentialHeaders: ["x-my-token"],
    credentialAction: "hash",
    sensitiveKeys: ["member_no"],
    sensitiveKeyAction: "drop",
    clientIp: "truncate",
    ipv4Prefix: 16,
    ipv6Prefix: 32,
    hashKeyFile: "/etc/telemetry/hash.key",
    keyId: "k2026",
    maxScanChars: 4096,
    detectors: { email: "hash", phone: "off", ipv6: "mask" },
    fields: { "user-agent": "keep", referer: "drop" },
    patterns: [
      {
        name: "order-ref",
        regex: "ORD-[0-9]{8}",
        action: "hash",
        ignoreCase: false,
        pos: { file: "t.kdl", line: 17, col: 3 },
      },
      {
        name: "ticket",
        regex: "tk_[a-z0-9]+",
        action: "mask",
        ignoreCase: true,
        pos: { file: "t.kdl", line: 18, col: 3 },
      },
    ],
  });
  assert.ok(setKeys.has("redaction.preset") && setKeys.has("redaction.detectors.email"));
});

Deno.test("redaction: problems are reported with positions and fixes", () => {
  assert.deepEqual(
    configIssues(`redaction {
  detectors { emial "mask"; card "blur" }
  pattern "slow" "(a+)+(?=b)"
  pattern "empty" "x*"
  client-ip "anonymize"
  detectors { ssn "mask" }
  colour "red"
}`),
    [
      "t.kdl:2:15 redaction.detectors.emial: unknown key (config_unknown_key)\n  hint: did you mean `email`?",
      't.kdl:2:29 redaction.detectors.card: must be one of "mask", "hash", "drop", "off", got "blur" (config_invalid_value)',
      "t.kdl:3:18 redaction.pattern.slow: invalid pattern: lookahead and lookbehind are not supported (config_invalid_value)\n" +
      "  hint: linear-time matching cannot run lookaround; match the text itself instead",
      "t.kdl:4:19 redaction.pattern.empty: the pattern matches empty text (config_invalid_value)\n" +
      "  hint: a redaction pattern must match at least one character, e.g. use + not *",
      't.kdl:5:3 redaction.client-ip: must be one of "keep", "truncate", "hash", "drop", got "anonymize" (config_invalid_value)',
      "t.kdl:6:3 redaction.detectors: is set more than once (first at line 2) (config_duplicate)\n  hint: remove one of them",
      "t.kdl:7:3 redaction.colour: unknown key (config_unknown_key)\n" +
      "  hint: valid keys: `enabled`, `preset`, `request-headers`, `response-headers`, `credential-headers`, " +
      "`credential-action`, `sensitive-keys`, `sensitive-key-action`, `client-ip`, `ipv4-prefix`, `ipv6-prefix`, " +
      "`hash-key-file`, `hash-key-env`, `key-id`, `max-scan-chars`, `detectors`, `fields`, `pattern`",
    ],
  );
});

Deno.test("redaction: a hash action needs a secret and a key id", () => {
  assert.deepEqual(configIssues(`redaction {\n  detectors { email "hash" }\n}`), [
    't.kdl:1:1 redaction.hash-key-file: an action is "hash" but no secret is configured (config_missing)\n' +
    '  hint: add hash-key-file "/etc/telemetry/hash.key" (or hash-key-env "NAME") and key-id "k1"',
    't.kdl:1:1 redaction.key-id: an action is "hash" but no key-id is set (config_missing)\n' +
    '  hint: add key-id "k1"; change it whenever the secret changes (see docs/redaction.md)',
  ]);
  assert.deepEqual(
    configIssues(`redaction { client-ip "hash"; hash-key-env "K"; key-id "a"; }`),
    [],
  );
});

Deno.test("redactionToKdl() prints a block that loads back to the same config", () => {
  const text = `redaction {
  preset "gdpr"
  credential-action "hash"
  hash-key-env "TELEMETRY_HASH_KEY"
  key-id "k1"
  detectors { email "hash"; phone "off" }
  fields { referer "drop" }
  pattern "order-ref" "ORD-[0-9]{8}" action="mask" ignore-case=true
}`;
  const a = loadConfigText(text, "a.kdl").config.redaction!;
  const printed = redactionToKdl(a).join("\n");
  const b = loadConfigText(printed, "b.kdl").config.redaction!;
  const strip = (c: typeof a) => ({ ...c, patterns: c.patterns?.map(({ pos: _p, ...p }) => p) });
  assert.deepEqual(strip(b), strip(a), printed);
  assert.deepEqual(redactionToJson(a).pattern, [
    { name: "order-ref", regex: "ORD-[0-9]{8}", action: "mask", "ignore-case": true },
  ]);
});
