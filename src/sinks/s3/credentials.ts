/**
 * Resolves the S3 sink's keys: from the config, the standard AWS environment variables
 * (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), or a shared credentials
 * file (`~/.aws/credentials` format) and profile.
 * Pipeline worker (when the sink opens). Throws `SinkError` (`sink_config`) naming what to set.
 * @module
 */

import { SinkError } from "../contract.ts";
import type { CredentialSource } from "./options.ts";

/** Keys for SigV4 signing. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/**
 * The keys `source` points at.
 *
 * @example
 * ```ts
 * const creds = await resolveCredentials({ kind: "env" });
 * ```
 */
export function resolveCredentials(source: CredentialSource): Promise<AwsCredentials> {
  switch (source.kind) {
    case "config":
      return Promise.resolve(source);
    case "env":
      return Promise.resolve().then(fromEnv);
    case "file":
      return fromFile(source.path, source.profile);
  }
}

function fromEnv(): AwsCredentials {
  const accessKeyId = Deno.env.get("AWS_ACCESS_KEY_ID");
  const secretAccessKey = Deno.env.get("AWS_SECRET_ACCESS_KEY");
  if (!accessKeyId || !secretAccessKey) {
    throw configError(
      "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or `access-key-id` and " +
        "`secret-access-key`, or `credentials-file` in the sink block",
    );
  }
  const sessionToken = Deno.env.get("AWS_SESSION_TOKEN") || undefined;
  return { accessKeyId, secretAccessKey, sessionToken };
}

async function fromFile(path: string, profile: string): Promise<AwsCredentials> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw configError(`cannot read credentials-file ${path}: ${(err as Error).message}`, err);
  }
  const section = parseIni(text).get(profile);
  const accessKeyId = section?.get("aws_access_key_id");
  const secretAccessKey = section?.get("aws_secret_access_key");
  if (!accessKeyId || !secretAccessKey) {
    throw configError(
      `credentials-file ${path} has no aws_access_key_id and aws_secret_access_key in profile ` +
        `[${profile}]; set \`profile\` to one that has`,
    );
  }
  return { accessKeyId, secretAccessKey, sessionToken: section!.get("aws_session_token") };
}

/** `[section]` then `key = value` lines; `#` and `;` start comments. */
export function parseIni(text: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[\s*(?:profile\s+)?([^\]]+?)\s*\]$/.exec(line);
    if (header) {
      current = new Map();
      out.set(header[1], current);
      continue;
    }
    const eq = line.indexOf("=");
    if (current !== undefined && eq > 0) {
      current.set(line.slice(0, eq).trim().toLowerCase(), line.slice(eq + 1).trim());
    }
  }
  return out;
}

function configError(message: string, cause?: unknown): SinkError {
  return new SinkError(`s3 sink: ${message}`, { code: "sink_config", retryable: false, cause });
}
