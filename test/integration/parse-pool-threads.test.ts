import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { classify } from '../../src/core/classify.js';
import { answersOurReply, quotedCaseReference } from '../../src/core/answers-our-reply.js';
import { isForward } from '../../src/core/forward.js';
import { parseMessage } from '../../src/mail/parse-message.js';
import type { createParsePool as CreateParsePool } from '../../src/mail/parse-pool.js';
import { loadPolicyFile } from '../../src/policy/load-policy.js';
import { generateHostileCases } from '../fixtures/hostile/generate.js';

// The threaded pool exists only in the build (under vitest the source pool parses in-thread), so this
// test loads dist/, as the worker runs it. Several messages are posted to a thread ahead of its
// answers; a thread that dies must still fail only the message it was parsing.
const distPool = new URL('../../dist/mail/parse-pool.js', import.meta.url).href;
const { createParsePool } = (await import(distPool)) as { createParsePool: typeof CreateParsePool };

const fixtures = fileURLToPath(new URL('../fixtures/mail/', import.meta.url));
const files = readdirSync(fixtures).filter((name) => name.endsWith('.eml')).sort();

describe('parse pool threads (dist)', () => {
  it('answers every message as parseMessage does, whatever the order of completion', async () => {
    const pool = createParsePool(1);
    try {
      const raws = [...files, ...files].map((name) => readFileSync(`${fixtures}${name}`));
      const threaded = await Promise.all(raws.map((raw) => pool.parse(Buffer.from(raw))));
      expect(threaded.length).toBeGreaterThan(20);
      for (const [index, raw] of raws.entries()) expect(threaded[index]).toEqual(await parseMessage(raw));
    } finally {
      await pool.close();
    }
  });

  it("the worker's slim answers leave out only text the classifier does not read: every decision is the same", async () => {
    const loaded = loadPolicyFile('config/policy.example.yaml');
    if (!loaded.policy) throw new Error(JSON.stringify(loaded.problems));
    const now = new Date('2026-11-20T09:00:00Z');
    // Every fixture, and each as if sent by a listed hospital, so that the body stage is reached.
    const raws = files.flatMap((name) => {
      const raw = readFileSync(`${fixtures}${name}`);
      return [raw, Buffer.from(raw.toString('latin1').replace(/^From:.*$/im, 'From: Renal Secretaries <renal.secretaries@northmere.nhs.uk>'), 'latin1')];
    });
    for (const keepWholeText of [false, true]) {
      const pool = createParsePool(1, { parse: { onlyWhatTheWorkerReads: { keepWholeText } } });
      try {
        const slim = await Promise.all(raws.map((raw) => pool.parse(Buffer.from(raw))));
        let withHistory = 0;
        for (const [index, raw] of raws.entries()) {
          const full = await parseMessage(raw);
          if (full.quotedText || full.footerText) withHistory++;
          // A forward keeps its forwarded message, which is read for urgency; a reply, only our case
          // reference in its history, which the loop guard reads.
          expect(slim[index]).toEqual({ ...full, quotedText: isForward(full) ? full.quotedText : (quotedCaseReference(full.quotedText) ?? ''), footerText: quotedCaseReference(full.footerText) ?? '', text: keepWholeText ? full.text : '' });
          expect(classify(slim[index]!, loaded.policy, now)).toEqual(classify(full, loaded.policy, now));
          expect(answersOurReply(slim[index]!)).toEqual(answersOurReply(full));
        }
        expect(withHistory, 'fixtures with history or a footer to leave out').toBeGreaterThan(4);
      } finally {
        await pool.close();
      }
    }
  });

  it('a thread out of memory fails the message it was parsing; the ones posted behind it are parsed by a fresh thread', async () => {
    const huge = generateHostileCases().find((entry) => entry.name === 'attachment-25mb')!.raw;
    const small = readFileSync(`${fixtures}qp-utf8.eml`);
    const pool = createParsePool(1, { maxHeapMb: 16 });
    try {
      const outcomes = await Promise.all(
        [small, small, huge, small, small, small].map((raw) =>
          pool.parse(Buffer.from(raw)).then(
            (message) => message.subject,
            (error: Error) => error.message,
          ),
        ),
      );
      expect(outcomes[2]).toMatch(/memory/);
      expect(outcomes.filter((_, index) => index !== 2)).toEqual(Array(5).fill('Request for bloods'));
    } finally {
      await pool.close();
    }
  });
});
