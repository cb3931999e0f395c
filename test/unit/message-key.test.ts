import { describe, expect, it } from 'vitest';
import { parseHeaderBlock } from '../../src/mail/parse-headers.js';
import { earlierMessageKey, messageKey } from '../../src/worker/message-key.js';

const block = (lines: string[]): Buffer => Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
const keyOf = (header: Buffer, body = 60): string => messageKey(parseHeaderBlock(header), { header, size: header.length + body });
const base = ['From: Debbie Marsh <debbie.marsh@northmere.nhs.uk>', 'To: rivermarsh.pcnalliance@nhs.net', 'Subject: Request for U&E - Mr B', 'Date: Thu, 19 Nov 2026 09:00:00 +0000'];

describe('messageKey', () => {
  it('is the Message-ID when there is one', () => {
    expect(keyOf(block([...base, 'Message-ID: <a@northmere.nhs.uk>']))).toBe('<a@northmere.nhs.uk>');
  });

  it('without a Message-ID, is the same for a copy delivered again with other trace fields', () => {
    const first = block(['Received: from mx1 by mx.nhs.net; Thu, 19 Nov 2026 09:00:01 +0000', 'Return-Path: <debbie.marsh@northmere.nhs.uk>', ...base]);
    const again = block([
      'Received: from relay by mx2.nhs.net; Thu, 19 Nov 2026 09:05:00 +0000',
      'Received: from mx1 by relay;',
      '\tThu, 19 Nov 2026 09:04:59 +0000',
      'X-MS-Exchange-Organization-Network-Message-Id: 1234',
      'Return-Path: <debbie.marsh@northmere.nhs.uk>',
      ...base,
    ]);
    expect(keyOf(again)).toBe(keyOf(first));
    expect(earlierMessageKey({ header: again })).not.toBe(earlierMessageKey({ header: first }));
  });

  it('without a Message-ID, differs for a different body under the same headers (a system that sends the same subject again)', () => {
    const header = block(base);
    expect(keyOf(header, 80)).not.toBe(keyOf(header, 60));
  });

  it('without a Message-ID, differs for a different subject, sender or date', () => {
    const key = keyOf(block(base));
    expect(keyOf(block(base.map((l) => l.replace('Mr B', 'Mrs D'))))).not.toBe(key);
    expect(keyOf(block(base.map((l) => l.replace('debbie.marsh', 'ann.smith'))))).not.toBe(key);
    expect(keyOf(block(base.map((l) => l.replace('09:00:00', '09:00:01'))))).not.toBe(key);
  });
});
