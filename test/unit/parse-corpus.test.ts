import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../src/mail/parse-message.js';

// The shared development corpus sits beside the repository on the build machines only.
const corpusDir = fileURLToPath(new URL('../../../shared/corpus/dev/', import.meta.url));
const hasCorpus = existsSync(`${corpusDir}labels.json`);

interface Label {
  category: string;
  action: string;
  note: string;
}

const labels: Record<string, Label> = hasCorpus ? JSON.parse(readFileSync(`${corpusDir}labels.json`, 'utf8')) : {};
const files = hasCorpus ? readdirSync(corpusDir).filter((name) => name.endsWith('.eml')).sort() : [];

/** Stock phrases of service footers: they must never reach newText. */
const FOOTER_URGENT = /urgent (quer|concern|clinical matters|enquir)|not monitored|if you have an urgent|for urgent/i;

describe.skipIf(!hasCorpus)('dev corpus', () => {
  it.each(files)('%s parses with id, sender and date', async (file) => {
    const message = await parseMessage(readFileSync(`${corpusDir}${file}`));
    expect(message.messageId).toMatch(/^<[^<>\s]+>$/);
    expect(message.from?.address).toMatch(/@/);
    expect(message.date).toBeInstanceOf(Date);
    expect(message.newText.length).toBeGreaterThan(0);
    expect(message.newText).not.toMatch(/intended recipient|NHSmail is the secure|CONFIDENTIALITY NOTICE/i);
  });

  const notUrgentWithUrgentFooter = Object.entries(labels)
    .filter(([, label]) => label.category !== 'urgent_clinical' && label.category !== 'auto_generated' && /footer|signature/i.test(label.note) && /urgent/i.test(label.note))
    .map(([file]) => file);

  it.each(notUrgentWithUrgentFooter)('%s: the footer\'s "urgent" stays out of newText', async (file) => {
    const message = await parseMessage(readFileSync(`${corpusDir}${file}`));
    expect(message.footerText).toMatch(/urgent/i);
    expect(message.newText).not.toMatch(FOOTER_URGENT);
    // d001's own text advises the patient to "seek urgent medical attention": that is content.
    const urgentLines = message.newText.split('\n').filter((line) => /urgent/i.test(line));
    expect(urgentLines.every((line) => /seek urgent medical attention/i.test(line))).toBe(true);
  });

  it('parses the corpus at a useful speed (measured, loosely bounded)', async () => {
    const raws = files.map((file) => readFileSync(`${corpusDir}${file}`));
    const started = performance.now();
    for (const raw of raws) await parseMessage(raw);
    const perSecond = raws.length / ((performance.now() - started) / 1000);
    // A guard against pathological slowness only: speed itself is measured by the benchmark scripts.
    expect(perSecond).toBeGreaterThan(5);
  });
});
