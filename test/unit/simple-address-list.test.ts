import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import addressparser from 'nodemailer/lib/addressparser';
import { describe, expect, it } from 'vitest';
import { generateCorpus } from '../../bench/generate-corpus.js';
import { simpleAddressList } from '../../src/mail/simple-address-list.js';
import { parseHeaderBlock } from '../../src/mail/parse-headers.js';
import { seededRandom } from '../support/seeded-random.js';

/** What parse-headers keeps of a parse: an address with an @, lower-cased; the name's white space folded. */
function kept(list: ReadonlyArray<{ name?: string; address?: string }>): Array<{ name: string; address: string }> {
  return list
    .filter((entry) => (entry.address ?? '').includes('@'))
    .map((entry) => ({ name: (entry.name ?? '').replace(/\s+/g, ' ').trim(), address: (entry.address ?? '').trim().toLowerCase() }));
}

function byParser(value: string): Array<{ name: string; address: string }> {
  return kept(addressparser(value, { flatten: true }) as Array<{ name?: string; address?: string }>);
}

const NAMES = ['Megan Ali', '"Megan Ali"', '"Ali, Megan"', 'Dr. J. Smith', "O'Brien", '=?UTF-8?B?Wm/DqyBLb3dhbHNraQ==?=', '', ' ', 'Team  A', 'River & Marsh PCN Alliance', '"  spaced  "', 'x.', '.x', 'a..b', 'Ré Né', 'a@b', '"a@b"', '"a\\"b"', 'x (comment) y', 'Group:', '\tTabbed'];
const ADDRESSES = ['a@b.nhs.uk', 'Staldrics.Cardiology@nhs.net', 'a+b@c', 'a.b-c@d.e', '@b', 'a@', 'a@@b', 'a b@c', 'a@b c', 'A@B', 'a@[1.2.3.4]', '@route:a@b'];
const PIECES = ['a', 'B', ' ', '  ', '.', '-', "'", '@', '<', '>', ',', '"', '(', ')', ':', ';', '\\', '[', ']', 'é', '=?UTF-8?Q?x?=', '\t', 'x@y.nhs.uk', '+', '/', '?', '=', '!', '#', '&'];

function generatedFields(count: number): string[] {
  const next = seededRandom(20261126);
  const pick = <T>(items: readonly T[]): T => items[next(items.length)]!;
  const fields: string[] = [];
  for (let i = 0; i < count; i++) {
    const kind = next(3);
    if (kind === 0) {
      let value = '';
      for (let length = next(14); length > 0; length--) value += pick(PIECES);
      fields.push(value);
    } else if (kind === 1) {
      const one = () => `${pick(['', ' ', '  '])}${pick(NAMES)}${pick(['', ' ', '  '])}${pick(['<', '', ' <'])}${pick(ADDRESSES)}${pick(['>', '', '> ', ' >'])}`;
      fields.push(Array.from({ length: 1 + next(3) }, one).join(pick([',', ', ', ' ,'])));
    } else {
      const value = `${pick(NAMES)} <${pick(ADDRESSES)}>`;
      const at = next(value.length + 1);
      fields.push(value.slice(0, at) + pick(PIECES) + value.slice(at));
    }
  }
  return fields;
}

function corpusFields(): string[] {
  const dirs = ['../fixtures/mail/', '../fixtures/hostile/', '../../../shared/corpus/dev/'].map((dir) => fileURLToPath(new URL(dir, import.meta.url)));
  const raws: Buffer[] = dirs.filter((dir) => existsSync(dir)).flatMap((dir) => readdirSync(dir).filter((name) => name.endsWith('.eml')).map((name) => readFileSync(`${dir}${name}`)));
  raws.push(...generateCorpus({ count: 600, newest: new Date('2026-11-20T09:00:00Z'), spreadDays: 5, tag: 'addr' }).map((message) => message.raw));
  const fields: string[] = [];
  for (const raw of raws) {
    const text = raw.toString('latin1');
    const head = text.slice(0, Math.max(0, text.search(/\r?\n\r?\n/))).replace(/\r?\n[ \t]/g, ' ');
    for (const match of head.matchAll(/^(?:from|to|cc|reply-to):(.*)$/gim)) fields.push(match[1]!.trim());
  }
  return fields;
}

describe('simpleAddressList', () => {
  it('reads the shapes hospitals write', () => {
    expect(simpleAddressList('staldrics.cardiology@nhs.net')).toEqual([{ name: '', address: 'staldrics.cardiology@nhs.net' }]);
    expect(simpleAddressList('Megan Ali <staldrics.cardiology@nhs.net>')).toEqual([{ name: 'Megan Ali', address: 'staldrics.cardiology@nhs.net' }]);
    expect(simpleAddressList('"Ali, Megan" <m.ali@staldrics.nhs.uk>')).toEqual([{ name: 'Ali, Megan', address: 'm.ali@staldrics.nhs.uk' }]);
    expect(simpleAddressList('=?UTF-8?B?Wm/DqyBLb3dhbHNraQ==?= <zoe@northmere.nhs.uk>')).toEqual([{ name: '=?UTF-8?B?Wm/DqyBLb3dhbHNraQ==?=', address: 'zoe@northmere.nhs.uk' }]);
    expect(simpleAddressList('A <a@x.nhs.uk>, b@x.nhs.uk')).toEqual([
      { name: 'A', address: 'a@x.nhs.uk' },
      { name: '', address: 'b@x.nhs.uk' },
    ]);
  });

  it.each([
    ['a comment', 'Megan (cardiology) <m@x.nhs.uk>'],
    ['an unclosed comment', 'Megan (cardiology <m@x.nhs.uk>'],
    ['a group', 'Team: a@x.nhs.uk, b@x.nhs.uk;'],
    ['an escaped quote', '"Ali \\"Meg\\"" <m@x.nhs.uk>'],
    ['two quoted names', '"A" <a@x>, "B" <b@x>'],
    ['a route', '<@relay.example:m@x.nhs.uk>'],
    ['an address without angle brackets after a name', 'Megan Ali m@x.nhs.uk'],
    ['an empty list entry', 'a@x.nhs.uk,,b@x.nhs.uk'],
    ['a domain literal', 'm@[192.0.2.1]'],
  ])('leaves %s to the full parser', (_what, value) => {
    expect(simpleAddressList(value)).toBeNull();
  });

  it('gives what addressparser gives, whenever it answers, over 60,000 generated fields', () => {
    let answered = 0;
    for (const field of generatedFields(60_000)) {
      const fast = simpleAddressList(field);
      if (!fast) continue;
      answered++;
      expect(kept(fast), JSON.stringify(field)).toEqual(byParser(field));
    }
    // The comparison must not be empty: a fast path that declined everything would pass it.
    expect(answered).toBeGreaterThan(3_000);
  });

  it('gives what addressparser gives over every address field of the corpora, and answers nearly all of them', () => {
    const fields = corpusFields();
    let answered = 0;
    for (const field of fields) {
      const fast = simpleAddressList(field);
      if (!fast) continue;
      answered++;
      expect(kept(fast), JSON.stringify(field)).toEqual(byParser(field));
    }
    expect(fields.length).toBeGreaterThan(1_000);
    expect(answered / fields.length).toBeGreaterThan(0.9);
  });

  it('keeps the header parse as it was: an encoded display name is decoded and its address lower-cased', () => {
    const headers = parseHeaderBlock(Buffer.from('From: =?UTF-8?B?Wm/DqyBLb3dhbHNraQ==?= <Zoe.Kowalski@Northmere.NHS.uk>\r\nTo: "Alliance, River" <inbox@nhs.net>\r\n\r\n'));
    expect(headers.from).toEqual({ name: 'Zoë Kowalski', address: 'zoe.kowalski@northmere.nhs.uk' });
    expect(headers.to).toEqual([{ name: 'Alliance, River', address: 'inbox@nhs.net' }]);
  });
});
