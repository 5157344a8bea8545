/**
 * Config test helper: the problems a config text has, as the agent prints them. Test helper.
 * @module
 */

import { ConfigError, formatIssue } from "../../src/config/errors.ts";
import { loadConfigText } from "../../src/config/load.ts";

/** `file:line:col key: problem (code)` for each problem in `text` (as `t.kdl`); [] when it loads. */
export function configIssues(text: string): string[] {
  try {
    loadConfigText(text, "t.kdl");
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map(formatIssue);
    throw e;
  }
  return [];
}
