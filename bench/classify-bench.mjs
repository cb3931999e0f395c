// Classifier throughput on one core: parse + classify, and classify alone on parsed messages.
// Runs against dist/ (npm run bench:classify builds first). Prints figures; not a timed test.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { classify } from '../dist/core/classify.js';
import { parseMessage as parseFast, parseMessageSlow } from '../dist/mail/parse-message.js';
import { loadPolicyFile } from '../dist/policy/load-policy.js';
import { classifySource } from '../dist/worker/classify-source.js';

// BENCH_PARSE=slow measures the mailparser path alone (the figure before the fast path).
const parseMessage = process.env.BENCH_PARSE === 'slow' ? parseMessageSlow : parseFast;
const TARGET_MESSAGES = Number(process.env.BENCH_MESSAGES ?? 10_000);
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

// CPU time as well as wall time: these machines are shared, and other work inflates wall time.
const cpuMs = (usage) => (usage.user + usage.system) / 1000;
// The pipeline as `classify`, `eval` and the worker run it: header gates, then the body only when
// they leave the decision open (automatic mail and unlisted senders cost their headers).
let cpu = process.cpuUsage();
let start = performance.now();
const counts = {};
for (let i = 0; i < TARGET_MESSAGES; i++) {
  const { classification } = await classifySource(raws[i % raws.length], policy, now);
  counts[classification.category] = (counts[classification.category] ?? 0) + 1;
}
const parseAndClassifyMs = performance.now() - start;
const parseAndClassifyCpu = cpuMs(process.cpuUsage(cpu));

// Every body parsed, gated or not: the cost of the parser itself.
cpu = process.cpuUsage();
start = performance.now();
for (let i = 0; i < TARGET_MESSAGES; i++) classify(await parseMessage(raws[i % raws.length]), policy, now);
const fullParseMs = performance.now() - start;
const fullParseCpu = cpuMs(process.cpuUsage(cpu));

const classifyRounds = TARGET_MESSAGES * 5;
cpu = process.cpuUsage();
start = performance.now();
let sink = 0;
for (let i = 0; i < classifyRounds; i++) sink += classify(parsed[i % parsed.length], policy, now).confidence;
const classifyMs = performance.now() - start;
const classifyCpu = cpuMs(process.cpuUsage(cpu));

const rate = (n, ms) => Math.round((n / ms) * 1000);
const rows = [
  ['measure', 'messages', 'wall s', 'msg/s', 'msg/cpu-s', 'target'],
  ['parse + classify', TARGET_MESSAGES, (parseAndClassifyMs / 1000).toFixed(2), rate(TARGET_MESSAGES, parseAndClassifyMs), rate(TARGET_MESSAGES, parseAndClassifyCpu), '>= 2,000'],
  ['  every body parsed', TARGET_MESSAGES, (fullParseMs / 1000).toFixed(2), rate(TARGET_MESSAGES, fullParseMs), rate(TARGET_MESSAGES, fullParseCpu), '(reference)'],
  ['classify alone', classifyRounds, (classifyMs / 1000).toFixed(2), rate(classifyRounds, classifyMs), rate(classifyRounds, classifyCpu), '>= 20,000'],
];
console.log(`corpus: ${corpus} (${raws.length} files, repeated); node ${process.version}; one thread; load average ${(await import('node:os')).loadavg()[0].toFixed(1)}`);
for (const r of rows) console.log(r.map((c, i) => String(c).padEnd(i === 0 ? 18 : 11)).join(''));
if (Number.isNaN(sink)) console.log('');
