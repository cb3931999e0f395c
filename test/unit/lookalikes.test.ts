import { describe, expect, it } from 'vitest';
import { classify } from '../../src/core/classify.js';
import { withoutLookalikes } from '../../src/mail/lookalikes.js';
import { parseMessage } from '../../src/mail/parse-message.js';
import { loadPolicyFile } from '../../src/policy/load-policy.js';

describe('withoutLookalikes: text as the rules should read it', () => {
  it.each([
    ['a soft hyphen', 'ur\u00adgently', 'urgently'],
    ['a zero-width space', 'ur\u200bgently', 'urgently'],
    ['a word joiner', 'ur\u2060gently', 'urgently'],
    ['a byte-order mark inside the text', 'ur\ufeffgently', 'urgently'],
    ['full-width capitals', 'ＵＲＧＥＮＴ', 'URGENT'],
    ['full-width small letters and an ideographic space', 'ｐｌｅａｓｅ\u3000ｃａｌｌ', 'please call'],
    ['a Cyrillic e in a Latin word', 'urg\u0435ntly', 'urgently'],
    ['a Greek omicron in a Latin word', 'p\u03bftassium', 'potassium'],
  ])('%s', (_name, input, expected) => {
    expect(withoutLookalikes(input)).toBe(expected);
  });

  it('leaves a name written in Cyrillic, and ordinary text, exactly as they are', () => {
    expect(withoutLookalikes('Олена Шевченко')).toBe('Олена Шевченко');
    const plain = 'Please arrange a repeat U&E — thank you, café staff.';
    expect(withoutLookalikes(plain)).toBe(plain);
  });
});

describe('a request whose urgency is hidden by lookalike characters is still urgent', () => {
  const loaded = loadPolicyFile('config/policy.example.yaml');
  const now = new Date('2026-11-20T09:00:00Z');
  const eml = (subject: string, body: string): Buffer =>
    Buffer.from(
      [
        'From: Debbie Marsh <debbie.marsh@northmere.nhs.uk>',
        'To: rivermarsh.pcnalliance@nhs.net',
        `Subject: =?UTF-8?B?${Buffer.from(subject).toString('base64')}?=`,
        'Date: Thu, 19 Nov 2026 09:00:00 +0000',
        'Message-ID: <lookalike@northmere.nhs.uk>',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: 8bit',
        '',
        body,
      ].join('\r\n'),
    );

  it.each([
    ['in the body (soft hyphen)', 'Request for U&E', 'Could the GP practice please arrange a repeat U&E ur\u00adgently.'],
    ['in the body (zero-width space)', 'Request for U&E', 'Could the GP practice please arrange a repeat U&E ur\u200bgently.'],
    ['in the body (Cyrillic e)', 'Request for U&E', 'Could the GP practice please arrange a repeat U&E urg\u0435ntly.'],
    ['in the subject (full width)', 'ＵＲＧＥＮＴ: Request for U&E', "Could the GP practice please arrange a repeat U&E in 2 weeks' time."],
  ])('%s', async (_name, subject, body) => {
    const result = classify(await parseMessage(eml(subject, body)), loaded.policy!, now);
    expect(result.category).toBe('urgent_clinical');
    expect(result.action).toBe('review');
  });
});
