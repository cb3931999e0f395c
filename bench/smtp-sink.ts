/**
 * A loopback SMTP server that accepts everything and keeps only a count and the recipients: the
 * live-pass benchmark measures the worker, not a mail store. No AUTH, no TLS (loopback only).
 */
import { SMTPServer } from 'smtp-server';

export interface BenchSink {
  port: number;
  received(): number;
  recipients(): Map<string, number>;
  reset(): void;
  stop(): Promise<void>;
}

export async function startBenchSink(): Promise<BenchSink> {
  let count = 0;
  const byRecipient = new Map<string, number>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    size: 10 * 1024 * 1024,
    onData(stream, session, callback) {
      stream.on('data', () => undefined);
      stream.on('end', () => {
        count++;
        for (const to of session.envelope.rcptTo) byRecipient.set(to.address, (byRecipient.get(to.address) ?? 0) + 1);
        callback(null);
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    received: () => count,
    recipients: () => byRecipient,
    reset() {
      count = 0;
      byRecipient.clear();
    },
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
