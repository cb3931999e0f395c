import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startDovecot, type DovecotServer } from '../support/dovecot.js';
import { startFaultyProxy, startFaultySmtpSink, type FaultyProxy, type FaultySmtpSink } from '../support/hardening-servers.js';
import {
  labelledCopies,
  readCases,
  SAMPLE_NOW,
  seededRandom,
  SETTLED_STATUSES,
  spawnCli,
  workerEnv,
  type LabelledMessage,
} from '../support/hardening-tools.js';

/**
 * Crash anywhere: the worker is SIGKILLed at random instants (a seeded schedule, printed, so a
 * failure reproduces with HARDENING_SEED=<seed>) and at every named crash point, restarted each
 * time, until the inbox is processed. Then nothing may have been answered twice, nothing answered
 * that must not be, and nothing lost.
 */
const SEED = Number(process.env.HARDENING_SEED ?? 20261120);
const CRASH_POINTS = ['after-record', 'after-sending', 'after-smtp-accept', 'before-move', 'before-cursor'];
const FOLDERS = ['PCN/Replied', 'PCN/Review', 'PCN/Filed', 'PCN/Ignored'];

let dovecot: DovecotServer;
let sink: FaultySmtpSink;
let proxy: FaultyProxy;
let databasePath: string;

beforeAll(async () => {
  [dovecot, sink] = await Promise.all([startDovecot(), startFaultySmtpSink()]);
  // The TLS port behind the proxy: imapflow would upgrade a plain connection with STARTTLS anyway.
  proxy = await startFaultyProxy(dovecot.tlsPort);
}, 120_000);

afterAll(async () => {
  await Promise.all([dovecot?.stop(), sink?.stop(), proxy?.stop()]);
});

beforeEach(async () => {
  databasePath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pcn-crash-')), 'cases.sqlite');
  sink.clear();
  proxy.cutAfterBytes(undefined);
  for (const box of await dovecot.mailboxes()) {
    if ((await dovecot.list(box).catch(() => [])).length) await dovecot.doveadm(['expunge', '-u', dovecot.user, 'mailbox', box, 'all']);
  }
});

interface ChaosOptions {
  rng: () => number;
  /** Keep seeding new rounds until at least this many kills have happened. */
  minKills: number;
  copiesPerRound: number;
  imapPort: number;
  /** Longest delay between spawn and SIGKILL. */
  maxDelayMs: number;
  /** Network faults to arm before a run; runs that meet them may exit 1, never anything else. */
  faults?: (rng: () => number) => void;
  /** Share of runs that get a SIGKILL (the rest run until they end, or a fault ends them). */
  killProbability?: number;
  /**
   * Keep a copy of each reply the SMTP server accepts in the mailbox's Sent folder, as Exchange does,
   * so that replies whose delivery was not confirmed can be found there (confirm-sent-replies.ts).
   */
  sentCopies?: boolean;
}

interface ChaosReport {
  kills: number;
  runs: number;
  failedRuns: number;
  seeded: LabelledMessage[];
}

async function chaos(options: ChaosOptions): Promise<ChaosReport> {
  const { rng } = options;
  const env = (extra: Record<string, string> = {}) =>
    workerEnv({ imapPort: options.imapPort, caPath: dovecot.caPath, user: dovecot.user, password: dovecot.password, smtpPort: sink.port, databasePath, extra: { IMAP_TIMEOUT_MS: '4000', ...extra } });
  const seeded: LabelledMessage[] = [];
  const copying: Array<Promise<void>> = [];
  if (options.sentCopies) sink.onAccepted((raw) => copying.push(dovecot.seed('Sent', [raw])));
  let kills = 0;
  let runs = 0;
  let failedRuns = 0;
  try {
    for (let round = 0; kills < options.minKills; round++) {
      const messages = labelledCopies(`r${round}`, options.copiesPerRound);
      seeded.push(...messages);
      await dovecot.seed('INBOX', messages.map((m) => m.raw));
      for (let attempt = 0; ; attempt++) {
        expect(attempt, 'the inbox is processed within a bounded number of restarts').toBeLessThan(400);
        options.faults?.(rng);
        const crashAt = rng() < 0.2 ? CRASH_POINTS[Math.floor(rng() * CRASH_POINTS.length)]! : undefined;
        const child = spawnCli(['once', '--now', SAMPLE_NOW], env(crashAt ? { PCN_CRASH_AT: crashAt } : {}));
        const delay = 5 + Math.floor(rng() * options.maxDelayMs);
        const kill = rng() < (options.killProbability ?? 1);
        const timer = crashAt || !kill ? undefined : setTimeout(() => child.kill(), delay);
        const result = await child.done;
        clearTimeout(timer);
        runs++;
        if (process.env.HARDENING_VERBOSE) console.log(`run ${runs} +${delay}ms ${crashAt ?? ''} -> ${result.signal ?? result.code}`);
        if (result.signal === 'SIGKILL') {
          kills++;
          continue;
        }
        if (result.code !== 0) {
          // Only an injected network fault may end a pass with an error, and then with a clear exit 1.
          expect(options.faults, `run ${runs} exited ${result.code} with no fault armed:\n${result.stderr}`).toBeDefined();
          expect(result.code, result.stderr).toBe(1);
          failedRuns++;
          continue;
        }
        // A pass that finished on its own: the round is done once no kill landed and the inbox is empty.
        if ((await dovecot.list('INBOX')).length === 0) break;
      }
    }
  } finally {
    sink.onAccepted(undefined);
    await Promise.allSettled(copying);
  }
  return { kills, runs, failedRuns, seeded };
}

/** The promises to the LMC, checked over everything seeded across all rounds. */
async function assertNothingDoubledNothingLost(seeded: LabelledMessage[], label: string, seed: number): Promise<void> {
  // A last clean pass settles any leftovers, and one more finds nothing new.
  const env = workerEnv({ imapPort: dovecot.tlsPort, caPath: dovecot.caPath, user: dovecot.user, password: dovecot.password, smtpPort: sink.port, databasePath });
  const settle = await spawnCli(['once', '--now', SAMPLE_NOW], env).done;
  expect(settle.code, settle.stderr).toBe(0);
  const idle = await spawnCli(['once', '--now', SAMPLE_NOW], env).done;
  expect(idle.code, idle.stderr).toBe(0);
  expect(idle.stdout).toMatch(/No new mail/);

  const cases = readCases(databasePath);
  const byMessageId = new Map(cases.map((c) => [c.message_id, c]));
  const lost = seeded.filter((m) => !byMessageId.has(m.messageId));
  expect(lost.map((m) => m.name), 'messages without a case (lost)').toEqual([]);
  expect(cases).toHaveLength(seeded.length);
  const unsettled = cases.filter((c) => !SETTLED_STATUSES.has(c.status));
  expect(unsettled.map((c) => `${c.message_id} ${c.status}`), 'cases left half-done').toEqual([]);

  const repliesPerOriginal = new Map<string, number>();
  for (const reply of sink.messages) repliesPerOriginal.set(reply.inReplyTo, (repliesPerOriginal.get(reply.inReplyTo) ?? 0) + 1);
  const duplicates = [...repliesPerOriginal].filter(([, n]) => n > 1);
  expect(duplicates, 'messages answered more than once').toEqual([]);

  const mustNotAnswer = new Set(seeded.filter((m) => !m.mayBeAnswered).map((m) => m.messageId));
  const wrongReplies = sink.messages.filter((reply) => mustNotAnswer.has(reply.inReplyTo));
  expect(wrongReplies.map((r) => r.inReplyTo), 'replies to messages that must not be answered').toEqual([]);

  for (const message of seeded) {
    const row = byMessageId.get(message.messageId)!;
    if (message.mayBeAnswered) {
      // A reply interrupted mid-send goes to a person ("delivery not confirmed"), never out twice.
      expect(['replied', 'review'], message.name).toContain(row.status);
      if (row.status === 'replied') expect(repliesPerOriginal.get(message.messageId), `${message.name} replied but nothing reached SMTP`).toBe(1);
    } else {
      expect(row.status, message.name).toBe(message.expected);
    }
  }
  expect(await dovecot.list('INBOX')).toHaveLength(0);
  let filed = 0;
  for (const folder of FOLDERS) filed += (await dovecot.list(folder).catch(() => [])).length;
  expect(filed, 'every message filed exactly once').toBe(seeded.length);

  const replied = cases.filter((c) => c.status === 'replied').length;
  const review = cases.filter((c) => c.status === 'review' && seeded.find((m) => m.messageId === c.message_id)?.mayBeAnswered).length;
  console.log(
    `[${label}] seed ${seed}: ${seeded.length} messages, ${sink.messages.length} replies received, ${replied} replied, ${review} answerable left for review, ` +
      `duplicates ${duplicates.length}, lost ${lost.length}`,
  );
}

describe('crash anywhere', () => {
  it('SIGKILL at 100+ random instants and at every crash point: no message answered twice, none wrongly, none lost', async () => {
    const rng = seededRandom(SEED);
    console.log(`[crash] seed ${SEED} (rerun with HARDENING_SEED=${SEED})`);
    // HARDENING_SENT_COPIES=1: replies also land in the Sent folder (the test's figures with and without).
    const report = await chaos({ rng, minKills: 100, copiesPerRound: 3, imapPort: dovecot.tlsPort, maxDelayMs: 700, sentCopies: process.env.HARDENING_SENT_COPIES === '1' });
    console.log(`[crash] ${report.kills} kills over ${report.runs} runs, ${report.seeded.length} messages`);
    expect(report.kills).toBeGreaterThanOrEqual(100);
    expect(report.seeded.length).toBeGreaterThanOrEqual(60);
    await assertNothingDoubledNothingLost(report.seeded, 'crash', SEED);
  }, 480_000);

  it('kills combined with an SMTP server that drops connections and an IMAP connection cut mid-fetch', async () => {
    const rng = seededRandom(SEED + 1);
    console.log(`[network] seed ${SEED + 1}`);
    const report = await chaos({
      rng,
      minKills: 25,
      copiesPerRound: 2,
      imapPort: proxy.port,
      maxDelayMs: 1200,
      // Half the runs are left alone so the network faults, not the kills, end them.
      killProbability: 0.5,
      // Replies whose delivery was not confirmed are looked for in the Sent folder, under the same faults.
      sentCopies: true,
      faults: (r) => {
        if (r() < 0.3) sink.dropNextConnections(1 + Math.floor(r() * 2));
        // An IMAP conversation over a couple of dozen messages is some tens of kilobytes: cut inside it.
        proxy.cutAfterBytes(r() < 0.4 ? 1_500 + Math.floor(r() * 20_000) : undefined);
      },
    });
    proxy.cutAfterBytes(undefined);
    sink.dropNextConnections(0);
    console.log(`[network] ${report.kills} kills, ${report.failedRuns} passes ended by a network fault, over ${report.runs} runs, ${report.seeded.length} messages`);
    expect(report.kills).toBeGreaterThanOrEqual(25);
    expect(report.failedRuns, 'the injected network faults really ended some passes').toBeGreaterThan(0);
    await assertNothingDoubledNothingLost(report.seeded, 'network', SEED + 1);
  }, 240_000);
});
