/**
 * A TCP proxy for tests that need a reply lost on the way back: it forwards both ways, and when
 * armed with a marker, the first chunk from the server that contains it is not forwarded —
 * both sides of that connection are closed instead (the server ran the command; the client saw
 * the connection drop without its reply). Disarms itself after one cut.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export class CutProxy {
  private marker: string | undefined;
  private readonly sockets = new Set<Socket>();
  /** Replies cut so far. */
  cuts = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** Listens on a free local port and forwards each connection to host:port. */
  static async start(host: string, port: number): Promise<CutProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new CutProxy(server, (server.address() as { port: number }).port);
    server.on('connection', (client) => proxy.pipe(client, connect(port, host)));
    return proxy;
  }

  /** The next server chunk containing `marker` is dropped with its connection. */
  cutReplyContaining(marker: string): void {
    this.marker = marker;
  }

  private pipe(client: Socket, upstream: Socket): void {
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        this.sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (d: Buffer) => upstream.write(d));
    upstream.on('data', (d: Buffer) => {
      if (this.marker !== undefined && d.includes(this.marker)) {
        this.marker = undefined;
        this.cuts++;
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(d);
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
