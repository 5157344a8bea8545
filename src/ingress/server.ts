/**
 * The Unix socket listener: claims the socket path, sets its mode, accepts proxy connections and
 * serves each independently. Main thread. Shutdown stops accepting first, then closes the
 * connections after a short window in which frames already sent are still answered.
 * @module
 */

import type { IngressConfig, SocketConfig } from "../config/types.ts";
import { claimSocketPath } from "./socket_file.ts";
import { Connection, type IngressContext } from "./connection.ts";

export class IngressServer {
  readonly #listener: Deno.Listener;
  readonly #ctx: IngressContext;
  readonly #path: string;
  readonly #connections = new Set<Connection>();
  readonly #limits: IngressConfig;
  readonly #sweeper: ReturnType<typeof setInterval>;
  #accepting: Promise<void>;
  #stopped = false;

  private constructor(
    listener: Deno.Listener,
    path: string,
    limits: IngressConfig,
    ctx: IngressContext,
  ) {
    this.#listener = listener;
    this.#path = path;
    this.#limits = limits;
    this.#ctx = ctx;
    ctx.metrics.open.probe(() => this.#connections.size);
    this.#accepting = this.#acceptLoop();
    const every = Math.max(
      50,
      Math.min(1000, limits.frameTimeoutMs / 4, limits.writeTimeoutMs / 4),
    );
    this.#sweeper = setInterval(() => this.#sweep(), every);
  }

  #sweep(): void {
    const now = performance.now();
    const { frameTimeoutMs, writeTimeoutMs } = this.#limits;
    for (const c of this.#connections) c.sweep(now, frameTimeoutMs, writeTimeoutMs);
  }

  /** Claim the socket path (replacing a stale file), listen, and start accepting. */
  static async start(
    cfg: SocketConfig,
    limits: IngressConfig,
    ctx: IngressContext,
  ): Promise<IngressServer> {
    const replaced = await claimSocketPath(cfg.path);
    if (replaced) ctx.log("warn", "replaced a stale socket file", { socket: cfg.path });
    const listener = Deno.listen({ transport: "unix", path: cfg.path });
    await Deno.chmod(cfg.path, cfg.mode);
    return new IngressServer(listener, cfg.path, limits, ctx);
  }

  get path(): string {
    return this.#path;
  }

  async #acceptLoop(): Promise<void> {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch (e) {
        if (this.#stopped) return;
        this.#ctx.log("error", "accept failed", { error: String(e) });
        continue;
      }
      if (this.#connections.size >= this.#limits.maxConnections) {
        // Over the limit: refuse at once, so idle connections cannot crowd out the proxy's.
        conn.close();
        this.#ctx.metrics.closed.inc({ reason: "connection_limit" });
        this.#ctx.metrics.rejected.inc({ reason: "connection_limit" });
        continue;
      }
      const c = new Connection(conn, this.#ctx);
      this.#connections.add(c);
      c.serve().finally(() => this.#connections.delete(c));
    }
  }

  /** Stop accepting; after `graceMs` close every connection; remove the socket file. */
  async stop(graceMs: number): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#sweeper);
    this.#listener.close();
    await this.#accepting;
    try {
      await Deno.remove(this.#path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) {
        this.#ctx.log("warn", "could not remove the socket file", { error: String(e) });
      }
    }
    if (this.#connections.size > 0) await new Promise((r) => setTimeout(r, graceMs));
    for (const c of this.#connections) c.close("shutdown");
  }
}
