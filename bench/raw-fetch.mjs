// The baseline every figure is judged against: a plain imapflow fetch of uid + envelope + source of
// every message in one folder, discarded. Run as its own process (like the worker) and timed from
// SELECT to the last byte, which excludes Node start-up and login exactly as the worker's figure does.
// Settings come from the environment the runner gives; prints one JSON line.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { ImapFlow } from 'imapflow';

const env = process.env;
const client = new ImapFlow({
  host: env.IMAP_HOST,
  port: Number(env.IMAP_PORT),
  secure: env.IMAP_SECURE === 'true',
  auth: { user: env.IMAP_USER, pass: env.IMAP_PASSWORD },
  tls: { ca: readFileSync(env.IMAP_TLS_CA_FILE) },
  logger: false,
  disableAutoIdle: true,
});
client.on('error', () => undefined);
await client.connect();
const started = performance.now();
const cpuAtStart = process.cpuUsage();
await client.mailboxOpen(env.IMAP_MAILBOX);
let count = 0;
let bytes = 0;
for await (const message of client.fetch('1:*', { uid: true, envelope: true, source: true })) {
  count++;
  bytes += message.source?.length ?? 0;
}
const ms = performance.now() - started;
await client.logout();
// CPU over the same span as ms (SELECT to the last byte), every thread of this process.
const cpu = process.cpuUsage(cpuAtStart);
process.stdout.write(`${JSON.stringify({ ms: Math.round(ms * 10) / 10, count, bytes, maxRssKb: peakRssKb(), cpuMs: Math.round((cpu.user + cpu.system) / 1000) })}\n`);

// getrusage's maxrss survives fork and exec on Linux (it would report the bench runner's peak); VmHWM is this image's own.
function peakRssKb() {
  const hwm = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return hwm ? Number(hwm[1]) : process.resourceUsage().maxRSS;
}
