/**
 * A reader on its own thread for the concurrency test: polls a directory and parses every line
 * of every `*.ndjson` file it finds until told to stop, then reports what it saw.
 * Tests only (Worker entry).
 * @module
 */

interface Report {
  scans: number;
  filesRead: number;
  linesParsed: number;
  problems: string[];
}

const report: Report = { scans: 0, filesRead: 0, linesParsed: 0, problems: [] };
let stop = false;

/** The worker's global scope, typed for the two members used here. */
const scope = self as unknown as {
  onmessage: ((e: MessageEvent<{ dir?: string; stop?: boolean }>) => void) | null;
  postMessage(message: unknown): void;
};

function check(name: string, text: string): void {
  if (!text.endsWith("\n")) report.problems.push(`${name}: no final newline`);
  for (const line of text.split("\n").slice(0, -1)) {
    try {
      JSON.parse(line);
      report.linesParsed++;
    } catch (err) {
      report.problems.push(`${name}: unparsable line ${JSON.stringify(line)}: ${err}`);
    }
  }
}

async function scan(dir: string): Promise<void> {
  report.scans++;
  for (const entry of Deno.readDirSync(dir)) {
    if (!entry.name.endsWith(".ndjson")) continue;
    let text: string;
    try {
      text = Deno.readTextFileSync(`${dir}/${entry.name}`);
    } catch (err) {
      report.problems.push(`${entry.name}: cannot read: ${err}`);
      continue;
    }
    report.filesRead++;
    if (text.length === 0) report.problems.push(`${entry.name}: empty`);
    else check(entry.name, text);
  }
  await new Promise((r) => setTimeout(r, 0));
}

scope.onmessage = async (e) => {
  if (e.data.stop) {
    stop = true;
    return;
  }
  const dir = e.data.dir!;
  scope.postMessage({ started: true });
  while (!stop) await scan(dir);
  await scan(dir);
  scope.postMessage({ report });
};
