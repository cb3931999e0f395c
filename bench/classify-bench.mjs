// Classifier throughput on one core: parse + classify, and classify alone on parsed messages.
// Runs against dist/ (npm run bench:classify builds first). Prints figures; not a timed test.
//
// These machines are shared and noisy: a neighbour's burst can cost a run a quarter of its speed.
// So each measure runs BENCH_ROUNDS times (default 3), the measures taking turns, and the median
// round is reported with the range beside it.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { classify } from '../dist/core/classify.js';
import { parseMessage as parseFast, parseMessageSlow } from '../dist/mail/parse-message.js';
import { loadPolicyFile } from '../dist/policy/load-policy.js';
import { classifySource } from '../dist/worker/classify-source.js';

// BENCH_PARSE=slow measures the mailparser path alone (the figure before the fast path).
const parseMessage = process.env.BENCH_PARSE === 'slow' ? parseMessageSlow : parseFast;
const TARGET_MESSAGES = Number(process.env.BENCH_MESSAGES ?? 10_000);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const shared = resolve('..', 'shared', 'corpus', 'dev');
const corpus = existsSync(shared) ? shared : resolve('test', 'fixtures', 'mail');

function emlFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? emlFiles(join(dir, e.name)) : e.name.endsWith('.eml') ? [join(dir, e.name)] : [],
  );
}

const { policy, problems } = loadPolicyFile('config/policy.example.yaml');
if (!policy) {
  console.error(problems);
  process.exit(2);
}
const raws = emlFiles(corpus).map((f) => readFileSync(f));
const now = new Date();

// Warm-up so the JIT has compiled the hot paths before timing.
const parsed = [];
for (const raw of raws) parsed.push(await parseMessage(raw));
for (let i = 0; i < 2000; i++) classify(parsed[i % parsed.length], policy, now);

const measures = [
  {
    // The pipeline as `classify`, `eval` and the worker run it: header gates, then the body only
    // when they leave the decision open (automatic mail and unlisted senders cost their headers).
    name: 'parse + classify',
    messages: TARGET_MESSAGES,
    target: '>= 2,000',
    run: async (n) => {
      for (let i = 0; i < n; i++) await classifySource(raws[i % raws.length], policy, now);
    },
  },
  {
    // Every body parsed, gated or not: the cost of the parser itself.
    name: '  every body parsed',
    messages: TARGET_MESSAGES,
    target: '(reference)',
    run: async (n) => {
      for (let i = 0; i < n; i++) classify(await parseMessage(raws[i % raws.length]), policy, now);
    },
  },
  {
    name: 'classify alone',
    messages: TARGET_MESSAGES * 5,
    target: '>= 20,000',
    run: async (n) => {
      let sink = 0;
      for (let i = 0; i < n; i++) sink += classify(parsed[i % parsed.length], policy, now).confidence;
      if (Number.isNaN(sink)) console.log('');
    },
  },
];

// CPU time as well as wall time: other work on the machine inflates wall time more than CPU time.
const cpuMs = (usage) => (usage.user + usage.system) / 1000;
const rounds = measures.map(() => []);
for (let round = 0; round < ROUNDS; round++) {
  for (const [index, measure] of measures.entries()) {
    const cpu = process.cpuUsage();
    const start = performance.now();
    await measure.run(measure.messages);
    rounds[index].push({ wall: performance.now() - start, cpu: cpuMs(process.cpuUsage(cpu)) });
  }
}

const rate = (n, ms) => Math.round((n / ms) * 1000);
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
console.log(`corpus: ${corpus} (${raws.length} files, repeated); node ${process.version}; one thread; median of ${ROUNDS} rounds (range); load average ${loadavg()[0].toFixed(1)}`);
const header = ['measure', 'messages', 'msg/s', 'msg/cpu-s', 'msg/cpu-s range', 'target'];
const widths = [20, 10, 8, 11, 17, 11];
console.log(header.map((c, i) => c.padEnd(widths[i])).join(''));
for (const [index, measure] of measures.entries()) {
  const walls = rounds[index].map((r) => rate(measure.messages, r.wall));
  const cpus = rounds[index].map((r) => rate(measure.messages, r.cpu));
  const row = [measure.name, measure.messages, median(walls), median(cpus), `${Math.min(...cpus)}-${Math.max(...cpus)}`, measure.target];
  console.log(row.map((c, i) => String(c).padEnd(widths[i])).join(''));
}
