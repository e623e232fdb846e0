import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/** What crossed a PostgreSQL connection, counted from the server's messages. */
export interface PgCounts {
  /** Connections opened (a pool growing, or reconnecting). */
  connections: number;
  /** ReadyForQuery messages after start-up: one per Sync or simple Query, i.e. per round trip. */
  roundTrips: number;
  /** CommandComplete messages: statements that ran (BEGIN and COMMIT included). */
  statements: number;
  /** Transactions ended: a ReadyForQuery with status idle after at least one completed statement. */
  transactions: number;
}

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const PROTOCOL_3 = 196608;

/**
 * A TCP proxy on 127.0.0.1:0 in front of PostgreSQL that reads the
 * frontend/backend protocol as it passes (message formats:
 * https://www.postgresql.org/docs/current/protocol-message-formats.html) and
 * counts round trips, statements and transactions. Bytes pass unchanged. Only
 * the cost probe uses it; an encrypted connection (SSLRequest answered 'S')
 * is passed through uncounted.
 */
export class PgRoundTripCounter {
  readonly counts: PgCounts = { connections: 0, roundTrips: 0, statements: 0, transactions: 0 };
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(upstream: { host: string; port: number }): Promise<PgRoundTripCounter> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const counter = new PgRoundTripCounter(server, (server.address() as AddressInfo).port);
    server.on('connection', (client) => counter.accept(client, upstream));
    return counter;
  }

  private accept(client: Socket, upstream: { host: string; port: number }): void {
    const server = connect(upstream.port, upstream.host);
    for (const s of [client, server]) {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    }
    const end = (): void => {
      client.destroy();
      server.destroy();
    };
    client.on('error', end).on('close', end);
    server.on('error', end).on('close', end);
    const reader = new PgConnectionReader(this.counts);
    client.on('data', (d: Buffer) => reader.fromClient(d));
    server.on('data', (d: Buffer) => reader.fromServer(d));
    client.pipe(server);
    server.pipe(client);
  }

  snapshot(): PgCounts {
    return { ...this.counts };
  }

  since(before: PgCounts): PgCounts {
    return {
      connections: this.counts.connections - before.connections,
      roundTrips: this.counts.roundTrips - before.roundTrips,
      statements: this.counts.statements - before.statements,
      transactions: this.counts.transactions - before.transactions,
    };
  }

  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}

/**
 * Reads one connection's traffic, in whatever pieces TCP delivers it, and adds
 * to `counts`. The client's start-up messages have no type byte (Int32 length,
 * Int32 code); an SSL or GSS encryption request is answered with one byte
 * before the server's typed messages (Byte1 type, Int32 length including
 * itself), and an accepted one ('S', 'G') makes the rest unreadable.
 */
export class PgConnectionReader {
  private clientBuf: Buffer = Buffer.alloc(0);
  private serverBuf: Buffer = Buffer.alloc(0);
  private started = false;
  private pendingOneByte = 0;
  private encrypted = false;
  private readySeen = 0;
  private completedSinceReady = 0;

  constructor(private readonly counts: PgCounts) {
    counts.connections++;
  }

  fromClient(d: Buffer): void {
    if (this.started) return;
    this.clientBuf = Buffer.concat([this.clientBuf, d]);
    while (!this.started && this.clientBuf.length >= 8) {
      const len = this.clientBuf.readInt32BE(0);
      if (this.clientBuf.length < len) break;
      const code = this.clientBuf.readInt32BE(4);
      if (code === SSL_REQUEST || code === GSSENC_REQUEST) this.pendingOneByte++;
      else if (code === PROTOCOL_3) this.started = true;
      this.clientBuf = this.clientBuf.subarray(len);
    }
  }

  fromServer(d: Buffer): void {
    if (this.encrypted) return;
    let buf = this.serverBuf.length === 0 ? d : Buffer.concat([this.serverBuf, d]);
    for (;;) {
      if (this.pendingOneByte > 0) {
        if (buf.length < 1) break;
        const answer = buf[0];
        this.pendingOneByte--;
        buf = buf.subarray(1);
        if (answer === 0x53 /* S */ || answer === 0x47 /* G */) {
          this.encrypted = true;
          return;
        }
        continue;
      }
      if (buf.length < 5) break;
      const len = buf.readInt32BE(1);
      if (buf.length < 1 + len) break;
      this.message(buf[0]!, buf[5]);
      buf = buf.subarray(1 + len);
    }
    // Keep only the incomplete tail, copied, so a large chunk is not pinned for it.
    this.serverBuf = buf.length > 0 ? Buffer.from(buf) : Buffer.alloc(0);
  }

  private message(type: number, firstByte: number | undefined): void {
    if (type === 0x43 /* C: CommandComplete */) {
      this.counts.statements++;
      this.completedSinceReady++;
    } else if (type === 0x5a /* Z: ReadyForQuery */) {
      // The first one ends authentication, not a request of the node's.
      if (this.readySeen++ > 0) this.counts.roundTrips++;
      if (firstByte === 0x49 /* I: idle */ && this.completedSinceReady > 0) this.counts.transactions++;
      this.completedSinceReady = 0;
    }
  }
}
