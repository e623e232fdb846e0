import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/** Where the proxy may send a connection: one registry node. */
export interface ProxyTarget {
  host: string;
  port: number;
}

/**
 * A tiny TCP load balancer on 127.0.0.1:0: every new client connection goes
 * to the next target in turn and bytes are piped both ways unchanged. Clients
 * keep connections alive, so "each connection to the next node" is what a
 * layer-4 load balancer in front of a registry cluster does.
 */
export class RoundRobinProxy {
  /** Connections handed to each target, keyed `host:port`. */
  readonly connections = new Map<string, number>();
  private readonly sockets = new Set<Socket>();
  private next = 0;

  private constructor(
    private readonly server: Server,
    private readonly targets: () => ProxyTarget[],
    readonly port: number,
  ) {}

  /** host:port of the proxy, as skopeo wants it. */
  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Starts listening; `targets` is read at every new connection (so dead nodes can be left out). */
  static async start(targets: () => ProxyTarget[]): Promise<RoundRobinProxy> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const proxy = new RoundRobinProxy(server, targets, (server.address() as AddressInfo).port);
    server.on('connection', (client: Socket) => proxy.accept(client));
    return proxy;
  }

  private accept(client: Socket): void {
    this.track(client);
    const list = this.targets();
    if (list.length === 0) {
      client.destroy();
      return;
    }
    const target = list[this.next++ % list.length]!;
    const key = `${target.host}:${target.port}`;
    this.connections.set(key, (this.connections.get(key) ?? 0) + 1);
    const upstream = connect(target.port, target.host);
    this.track(upstream);
    // Either side failing or closing ends the pair; no half-open leftovers.
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  private track(s: Socket): void {
    this.sockets.add(s);
    s.once('close', () => this.sockets.delete(s));
  }

  /** Stops accepting, destroys every open connection and waits for the listener to close. */
  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await closed;
  }
}
