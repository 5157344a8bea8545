/**
 * Golden tests: every `fixtures/NAME.kdl` loads to exactly `fixtures/NAME.expected` — the
 * formatted issue lines for a bad config, or the effective config as JSON for a good one.
 * @module
 */

import assert from "node:assert/strict";
import { ConfigError, formatIssue } from "../../src/config/errors.ts";
import { loadConfigText } from "../../src/config/load.ts";
import { configToJson } from "../../src/config/print.ts";

const dir = new URL("./fixtures/", import.meta.url);
const names = [...Deno.readDirSync(dir)]
  .filter((e) => e.name.endsWith(".kdl"))
  .map((e) => e.name.slice(0, -4))
  .sort();

function render(name: string): string {
  const text = Deno.readTextFileSync(new URL(`${name}.kdl`, dir));
  try {
    const { config } = loadConfigText(text, `${name}.kdl`);
    return JSON.stringify(configToJson(config), null, 2) + "\n";
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.issues.map(formatIssue).join("\n") + "\n";
  }
}

Deno.test("golden fixtures: at least 10 bad and 4 good configs are present", () => {
  assert.ok(names.filter((n) => !n.startsWith("good_")).length >= 10);
  assert.ok(names.filter((n) => n.startsWith("good_")).length >= 4);
});

for (const name of names) {
  Deno.test(`loadConfigText() golden ${name}`, () => {
    const expected = Deno.readTextFileSync(new URL(`${name}.expected`, dir));
    const actual = render(name);
    assert.equal(actual, expected);
    const good = name.startsWith("good_");
    assert.equal(actual.startsWith("{"), good, `${name}: good_* must load, others must fail`);
  });
}
