/**
 * A loopback HTTP server the sink tests can stop (a real outage: connections are refused) and
 * restart on the same port. Subclasses answer requests in `handle`. Test-only helper.
 * @module
 */

export abstract class LocalHttpServer {
  port = 0;
  #server: Deno.HttpServer | undefined;

  /** Listen on `port` (0 = any free port; `port` then holds the one taken). */
  async start(port = 0): Promise<void> {
    const ready = Promise.withResolvers<number>();
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port, onListen: (a) => ready.resolve(a.port) },
      (req) => this.handle(req),
    );
    this.port = await ready.promise;
  }

  /** Close the listener. */
  async stop(): Promise<void> {
    await this.#server?.shutdown();
    this.#server = undefined;
  }

  /** Reopen on the same port after `stop`. */
  restart(): Promise<void> {
    return this.start(this.port);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  protected abstract handle(req: Request): Promise<Response>;
}
