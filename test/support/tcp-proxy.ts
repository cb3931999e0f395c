/**
 * A loopback TCP proxy that a test controls, put between the worker and Dovecot (or the SMTP
 * sink) to break the connection at a chosen moment: cut everything now, cut after N more bytes
 * from the server (mid-FETCH), stall for a while, or add latency to every chunk.
 */
import net from 'node:net';

export interface TcpProxy {
  host: '127.0.0.1';
  port: number;
  /** Connections accepted so far. */
  connectionCount(): number;
  /** Destroys every open connection (both sides) now. New connections are still accepted. */
  cutAll(): void;
  /**
   * Destroys a connection once n more bytes have gone from the server to the client (counted over
   * all connections, one shot). Resolves when the cut has happened.
   */
  cutAfterBytes(n: number): Promise<void>;
  /** Holds all traffic in both directions for ms (data is delivered afterwards, in order). */
  pause(ms: number): void;
  /** Delays every chunk in both directions by ms from now on; 0 turns it off. */
  setLatency(ms: number): void;
  /** While true, new connections are accepted and closed at once (server "down"). */
  refuseConnections(refuse: boolean): void;
  stop(): Promise<void>;
}

interface Direction {
  /** Serialises writes so latency and pauses keep the byte order. */
  chain: Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const open = new Set<{ client: net.Socket; upstream: net.Socket }>();
  let latencyMs = 0;
  let pausedUntil = 0;
  let refusing = false;
  let connections = 0;
  let cutArmed: { bytesLeft: number; done: () => void } | undefined;

  const deliver = (direction: Direction, chunk: Buffer, write: (chunk: Buffer) => boolean) => {
    const arrivedAt = Date.now();
    const delay = latencyMs;
    direction.chain = direction.chain.then(async () => {
      const due = Math.max(arrivedAt + delay, pausedUntil);
      if (due > Date.now()) await sleep(due - Date.now());
      // A pause set while this chunk waited still applies.
      while (pausedUntil > Date.now()) await sleep(pausedUntil - Date.now());
      write(chunk);
    });
  };

  const server = net.createServer((client) => {
    connections++;
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, targetHost);
    const pair = { client, upstream };
    open.add(pair);
    const toServer: Direction = { chain: Promise.resolve() };
    const toClient: Direction = { chain: Promise.resolve() };
    const destroyBoth = () => {
      client.destroy();
      upstream.destroy();
      open.delete(pair);
    };
    client.on('data', (chunk: Buffer) => deliver(toServer, chunk, (data) => !upstream.destroyed && upstream.write(data)));
    upstream.on('data', (chunk: Buffer) => {
      if (cutArmed) {
        if (chunk.length >= cutArmed.bytesLeft) {
          const head = chunk.subarray(0, cutArmed.bytesLeft);
          const { done } = cutArmed;
          cutArmed = undefined;
          deliver(toClient, head, (data) => !client.destroyed && client.write(data));
          toClient.chain = toClient.chain.then(() => {
            destroyBoth();
            done();
          });
          return;
        }
        cutArmed.bytesLeft -= chunk.length;
      }
      deliver(toClient, chunk, (data) => !client.destroyed && client.write(data));
    });
    // Half-closes are passed on after the data queued before them.
    client.on('end', () => {
      toServer.chain = toServer.chain.then(() => {
        upstream.end();
      });
    });
    upstream.on('end', () => {
      toClient.chain = toClient.chain.then(() => {
        client.end();
      });
    });
    client.on('error', destroyBoth);
    upstream.on('error', destroyBoth);
    client.on('close', () => {
      toServer.chain = toServer.chain.then(destroyBoth);
    });
    upstream.on('close', () => {
      toClient.chain = toClient.chain.then(destroyBoth);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;

  const cutAll = () => {
    for (const { client, upstream } of open) {
      client.destroy();
      upstream.destroy();
    }
    open.clear();
  };

  return {
    host: '127.0.0.1',
    port,
    connectionCount: () => connections,
    cutAll,
    cutAfterBytes: (n) =>
      new Promise<void>((resolve) => {
        cutArmed = { bytesLeft: Math.max(0, n), done: resolve };
      }),
    pause(ms) {
      pausedUntil = Math.max(pausedUntil, Date.now() + ms);
    },
    setLatency(ms) {
      latencyMs = Math.max(0, ms);
    },
    refuseConnections(refuse) {
      refusing = refuse;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        cutAll();
        server.close(() => resolve());
      }),
  };
}
