/**
 * Takes the socket path for listening: replaces a stale socket file left by a crashed run, and
 * refuses (clearly) to steal one a live agent still serves or to delete a file that is not a
 * socket. Main thread, at start-up only.
 * @module
 */

import { dirname } from "node:path";

export class SocketInUseError extends Error {
  readonly code = "socket_in_use";
  constructor(readonly path: string, detail: string) {
    super(detail);
    this.name = "SocketInUseError";
  }
}

/** Make `path` free for `Deno.listen`, or throw `SocketInUseError`. Returns whether it removed a stale file. */
export async function claimSocketPath(path: string): Promise<boolean> {
  await Deno.mkdir(dirname(path), { recursive: true });
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
  if (!info.isSocket) {
    throw new SocketInUseError(
      path,
      `${path} exists and is not a socket; refusing to replace it. Remove it or choose another path with --socket`,
    );
  }
  if (await isServed(path)) {
    throw new SocketInUseError(
      path,
      `${path} is served by a running agent; stop that agent first or choose another path with --socket`,
    );
  }
  await Deno.remove(path);
  return true;
}

async function isServed(path: string): Promise<boolean> {
  try {
    const c = await Deno.connect({ transport: "unix", path });
    c.close();
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.ConnectionRefused || e instanceof Deno.errors.NotFound) {
      return false;
    }
    throw e;
  }
}
