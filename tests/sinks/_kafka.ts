/**
 * Test helpers for the Kafka tests: an independent reader (`kcat`, Debian's package; installed
 * here with apt-get when missing, failing loudly if it cannot be), topic creation, and records.
 * Tests only.
 * @module
 */

import { Kafka, logLevel } from "kafkajs";

/** One message as kcat -J prints it. */
export interface KcatMessage {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  payload: string | null;
  headers: Record<string, string>;
}

let kcatChecked = false;

/** Make sure `kcat` runs; install it with apt-get when it is missing (root, Debian). */
export async function ensureKcat(): Promise<void> {
  if (kcatChecked) return;
  if (!(await runs("kcat", ["-V"]))) {
    const update = await sh("apt-get", ["update", "-qq"]);
    const install = await sh("apt-get", ["install", "-y", "-qq", "kcat"]);
    if (!(await runs("kcat", ["-V"]))) {
      throw new Error(
        `kcat is needed to read Kafka topics in tests and could not be installed with apt-get:\n${update}\n${install}`,
      );
    }
  }
  kcatChecked = true;
}

/**
 * Every message in `topic` (all partitions, from the start to the current end), read with kcat.
 * `security` adds librdkafka properties (`-X key=value`).
 */
export async function readTopic(
  bootstrap: string,
  topic: string,
  security: Record<string, string> = {},
): Promise<KcatMessage[]> {
  await ensureKcat();
  const x = Object.entries(security).flatMap(([k, v]) => ["-X", `${k}=${v}`]);
  const out = await new Deno.Command("kcat", {
    args: ["-b", bootstrap, ...x, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-J"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`kcat failed reading ${topic}: ${stderr}`);
  const text = new TextDecoder().decode(out.stdout);
  return text.split("\n").filter((l) => l.trim() !== "").map((line) => {
    const m = JSON.parse(line);
    const headers: Record<string, string> = {};
    const list: string[] = m.headers ?? [];
    for (let i = 0; i + 1 < list.length; i += 2) headers[list[i]] = list[i + 1];
    return {
      topic: m.topic,
      partition: m.partition,
      offset: m.offset,
      key: m.key,
      payload: m.payload,
      headers,
    };
  });
}

/** Poll `readTopic` until it holds at least `n` messages or `limitMs` passes. */
export async function waitForMessages(
  bootstrap: string,
  topic: string,
  n: number,
  limitMs = 30_000,
): Promise<KcatMessage[]> {
  const t0 = performance.now();
  let got = await readTopic(bootstrap, topic);
  while (got.length < n && performance.now() - t0 < limitMs) {
    await new Promise((r) => setTimeout(r, 250));
    got = await readTopic(bootstrap, topic);
  }
  return got;
}

/** Create topics on the plaintext listener (partitions each). */
export async function createTopics(
  bootstrap: string,
  topics: string[],
  partitions = 1,
): Promise<void> {
  const admin = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: topics.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })),
    });
  } finally {
    await admin.disconnect();
  }
}

async function runs(cmd: string, args: string[]): Promise<boolean> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output();
    return out.success;
  } catch {
    return false; // not installed
  }
}

async function sh(cmd: string, args: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(cmd, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    return new TextDecoder().decode(out.stderr).slice(-2000);
  } catch (e) {
    return `${cmd}: ${(e as Error).message}`;
  }
}
