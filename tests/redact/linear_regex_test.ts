import assert from "node:assert/strict";
import {
  compilePattern,
  type MatchStats,
  PatternSyntaxError,
  WORK_PASSES,
} from "../../src/redact/linear_regex.ts";

const found = (p: string, s: string, ignoreCase = false) =>
  compilePattern(p, { ignoreCase }).matches(s).map(([a, b]) => s.slice(a, b));

Deno.test("compilePattern() matches the supported syntax, leftmost-longest", () => {
  assert.deepEqual(found("ORD-[0-9]{4}", "x ORD-1234 ORD-99 ORD-5678"), ["ORD-1234", "ORD-5678"]);
  assert.deepEqual(found("\\bcat\\b", "cat concat cat"), ["cat", "cat"]);
  assert.deepEqual(found("a|ab", "abab"), ["ab", "ab"]);
  assert.deepEqual(found("[^/]+", "/a/bc/"), ["a", "bc"]);
  assert.deepEqual(found("(?:foo|bar)-\\d+", "FOO-1 bar-22", true), ["FOO-1", "bar-22"]);
  assert.deepEqual(found("^id-\\w+$", "id-abc"), ["id-abc"]);
  assert.deepEqual(found("^id", "x id"), []);
  assert.deepEqual(found("\\x41\\u0042[\\d\\s]?", "AB7 AB"), ["AB7", "AB"]);
  assert.deepEqual(found("(?<emp>E)\\d{2,3}?", "E1234"), ["E123"]);
  assert.deepEqual(found(".+", "a\nb"), ["a", "b"]);
});

Deno.test("compilePattern() refuses what no linear-time engine can run", () => {
  for (
    const p of [
      "(a)\\1",
      "(?=a)b",
      "(?!a)b",
      "(?<=a)b",
      "(?<!a)b",
      "\\k<x>",
      "a{1001}",
      "*a",
      "(a",
      "a)",
      "[a",
      "\\q",
    ]
  ) {
    assert.throws(() => compilePattern(p), PatternSyntaxError, p);
  }
});

Deno.test("compilePattern() matches in linear time on catastrophic patterns", () => {
  // Each would take exponential or polynomial time in a backtracking engine on these inputs.
  const cases: [string, (n: number) => string][] = [
    ["(a+)+$", (n) => "a".repeat(n) + "b"],
    ["(a|a)*c", (n) => "a".repeat(n)],
    ["(a|aa)+$", (n) => "a".repeat(n) + "!"],
    ["(\\w+\\s?)+$", (n) => "word ".repeat(n / 5) + "!"],
    ["(x+x+)+y", (n) => "x".repeat(n)],
    ["a.*b|a", (n) => "a".repeat(n)],
  ];
  for (const [p, input] of cases) {
    const re = compilePattern(p);
    const steps: number[] = [];
    for (const n of [1000, 10_000]) {
      const stats: MatchStats = { steps: 0 };
      re.matches(input(n), stats);
      assert.ok(
        stats.steps <= WORK_PASSES * (re.size + 1) * (n + 1),
        `${p} n=${n}: ${stats.steps} steps`,
      );
      steps.push(stats.steps);
    }
    assert.ok(steps[1] <= 11 * steps[0] + 100, `${p}: ${steps} is not linear`);
  }
});

Deno.test("compilePattern() past its work budget treats the rest as a match (fail closed)", () => {
  const s = "a".repeat(5000);
  const m = compilePattern("a.*b|a").matches(s);
  assert.equal(m[m.length - 1][1], s.length);
});

Deno.test("compilePattern() agrees with RegExp on whether a text matches", () => {
  const patterns = [
    "[a-c]+d",
    "x(y|z)*x",
    "\\d{3}-\\d{2}",
    "^ab|cd$",
    "a?b?c",
    "(ab|a)(bc|c)",
    "[^abc]{2}",
  ];
  const alphabet = "abcdxyz-0123 ";
  let seed = 1;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (const p of patterns) {
    const mine = compilePattern(p), js = new RegExp(p);
    for (let i = 0; i < 300; i++) {
      let s = "";
      for (let k = Math.floor(rand() * 12); k > 0; k--) {
        s += alphabet[Math.floor(rand() * alphabet.length)];
      }
      assert.equal(mine.matches(s).length > 0, js.test(s), `${p} on ${JSON.stringify(s)}`);
    }
  }
});
