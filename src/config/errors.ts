/**
 * Config problems: the issue record, the error that carries every issue of a file, how an issue
 * prints (`file:line:col path: problem (code)` plus a hint line), and "did you mean" hints.
 * Runs wherever config is loaded (start-up, main thread). Never logs and never exits.
 * @module
 */

import type { SourcePos } from "./types.ts";

/** Stable codes of config issues. */
export type ConfigIssueCode =
  | "config_syntax"
  | "config_unknown_key"
  | "config_wrong_type"
  | "config_out_of_range"
  | "config_missing"
  | "config_duplicate"
  | "config_invalid_value"
  | "config_unreadable";

/** One problem found in a config file. */
export interface ConfigIssue {
  code: ConfigIssueCode;
  /** Dotted kebab-case key path, e.g. `sinks.kafka.batch-size`; empty for syntax errors. */
  path: string;
  /** Where it is; `line` 0 means the file as a whole (e.g. it cannot be read). */
  pos: SourcePos;
  /** What is wrong, e.g. `must be between 1 and 100000, got 0`. */
  problem: string;
  /** How to fix it, when there is more to say than the problem. */
  hint?: string;
}

/**
 * Render an issue, e.g.
 * `telemetry.kdl:14:5 sinks.kafka.batch-size: must be between 1 and 100000, got 0 (config_out_of_range)`
 * followed by `\n  hint: …` when the issue has a hint.
 */
export function formatIssue(issue: ConfigIssue): string {
  const { file, line, col } = issue.pos;
  const where = line > 0 ? `${file}:${line}:${col}` : file;
  const head = issue.path === "" ? `${where}:` : `${where} ${issue.path}:`;
  const text = `${head} ${issue.problem} (${issue.code})`;
  return issue.hint ? `${text}\n  hint: ${issue.hint}` : text;
}

/** Sort issues into file order (stable for issues at the same place). */
export function sortIssues(issues: readonly ConfigIssue[]): ConfigIssue[] {
  return [...issues].sort((a, b) => a.pos.line - b.pos.line || a.pos.col - b.pos.col);
}

/** A config file that cannot be used; `issues` holds every problem found, in file order. */
export class ConfigError extends Error {
  readonly code = "config_invalid";
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    super(issues.map(formatIssue).join("\n"));
    this.name = "ConfigError";
    this.issues = issues;
  }
}

/** A KDL syntax error; the message reads `telemetry.kdl:3:9: unterminated string`. */
export class KdlSyntaxError extends Error {
  readonly code = "config_syntax";
  readonly pos: SourcePos;
  readonly problem: string;

  constructor(pos: SourcePos, problem: string) {
    super(`${pos.file}:${pos.line}:${pos.col}: ${problem}`);
    this.name = "KdlSyntaxError";
    this.pos = pos;
    this.problem = problem;
  }

  /** The same error as a config issue (empty key path). */
  toIssue(): ConfigIssue {
    return { code: "config_syntax", path: "", pos: this.pos, problem: this.problem };
  }
}

/**
 * A hint for an unknown word: "did you mean `x`?" when a candidate is close (edit distance),
 * otherwise the list of valid words.
 */
export function suggest(word: string, candidates: readonly string[], what = "keys"): string {
  const best = closest(word, candidates);
  if (best !== undefined) return `did you mean \`${best}\`?`;
  return `valid ${what}: ${candidates.map((c) => `\`${c}\``).join(", ")}`;
}

/** The candidate nearest to `word` if it is close enough to be a likely typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/** Levenshtein distance (insert, delete, substitute each cost 1). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const sub = prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      cur.push(Math.min(prev[j] + 1, cur[j - 1] + 1, sub));
    }
    prev = cur;
  }
  return prev[b.length];
}
