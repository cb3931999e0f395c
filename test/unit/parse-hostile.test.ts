import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../src/mail/parse-message.js';
import { generateHostileCases, type HostileCase } from '../fixtures/hostile/generate.js';

const handWrittenDir = fileURLToPath(new URL('../fixtures/hostile/', import.meta.url));
const handWritten: HostileCase[] = readdirSync(handWrittenDir)
  .filter((name) => name.endsWith('.eml'))
  .map((name) => ({ name, raw: readFileSync(`${handWrittenDir}${name}`), expect: 'hand-written hostile message' }));

const cases = [...generateHostileCases(), ...handWritten];
const LINE_BREAKS = /[\r\n\u2028\u2029\u0000]/;

describe('hostile and broken mail (issue 6)', () => {
  it.each(cases.map((entry) => [entry.name, entry] as const))('%s: parses without hanging and within bounded memory', async (_name, entry) => {
    const heapBefore = process.memoryUsage().heapUsed;
    const started = performance.now();
    const message = await parseMessage(entry.raw);
    const elapsed = performance.now() - started;
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;

    // Generous: a guard against a parser stall or catastrophic backtracking, not a speed target.
    expect(elapsed).toBeLessThan(20_000);
    // The model holds at most the text and a few strings: never a copy of a 25 MB attachment.
    expect(heapGrowth).toBeLessThan(64 * 1024 * 1024);
    expect(message.subject).not.toMatch(LINE_BREAKS);
    expect(message.messageId ?? '').not.toMatch(/[\s\u0000-\u001f]/);
    expect(message.inReplyTo ?? '').not.toMatch(/[\s\u0000-\u001f]/);
    expect(message.from?.name ?? '').not.toMatch(LINE_BREAKS);
    expect(message.from?.address ?? '').not.toMatch(/[\s<>]/);
    for (const attachment of message.attachments) expect(attachment.filename ?? '').not.toMatch(LINE_BREAKS);
    expect(message.text).not.toContain('\u0000');
    if (entry.problem) expect(message.parseProblems.join('\n')).toMatch(entry.problem);
  });

  it.each([
    ['truncated', /no closing boundary/],
    ['missing-boundary', /without a boundary/],
    ['broken-boundary', /never occurs/],
    ['truncated-in-headers', /no empty line after it/],
  ])('%s reports what is wrong', async (name, problem) => {
    const entry = cases.find((candidate) => candidate.name === name);
    const message = await parseMessage(entry?.raw ?? Buffer.alloc(0));
    expect(message.parseProblems.join('\n')).toMatch(problem);
  });

  it('lists the 25 MB attachment from the first 10 MB only', async () => {
    const entry = cases.find((candidate) => candidate.name === 'attachment-25mb');
    const message = await parseMessage(entry?.raw ?? Buffer.alloc(0));
    expect(message.size).toBeGreaterThan(25 * 1024 * 1024);
    expect(message.attachments[0]?.size).toBeLessThan(10 * 1024 * 1024);
    expect(message.text).toMatch(/Please see attached/);
  });

  it('never decodes an encoded word inside Message-ID', async () => {
    const entry = cases.find((candidate) => candidate.name === 'injection-message-id');
    const message = await parseMessage(entry?.raw ?? Buffer.alloc(0));
    expect(message.messageId).toBeNull();
    expect(message.inReplyTo).toBe('<x@y>');
  });

  it('takes the first of two From headers and says so', async () => {
    const message = await parseMessage(readFileSync(`${handWrittenDir}two-from-headers.eml`));
    expect(message.from?.address).toBe('haem@northmere.nhs.uk');
    expect(message.parseProblems.join('\n')).toMatch(/more than one from/);
  });

  it('does not decode UTF-7 into markup', async () => {
    const message = await parseMessage(readFileSync(`${handWrittenDir}utf7-script.eml`));
    expect(message.text).not.toContain('<script>');
  });

  it('keeps script out of the text of an HTML body; fields keep markup as text for the renderer to escape', async () => {
    const entry = cases.find((candidate) => candidate.name === 'html-script-in-fields');
    const message = await parseMessage(entry?.raw ?? Buffer.alloc(0));
    expect(message.text).toMatch(/Please arrange bloods/);
    expect(message.text).not.toMatch(/alert|<script/);
    expect(message.subject).toBe('<script>alert("x")</script> bloods');
  });
});
