import { beforeAll, describe, expect, it } from 'vitest';
import type { Classification } from '../../src/core/classification.js';
import type { MessageHeaders } from '../../src/core/message.js';
import { renderReply, replySubject, safeMessageId } from '../../src/core/render-reply.js';
import { DEFAULT_TEMPLATES_DIR, loadPolicyFile } from '../../src/policy/load-policy.js';
import type { Policy } from '../../src/policy/policy.js';
import { compileTemplates, type CompiledTemplates } from '../../src/reply/compile-templates.js';

let policy: Policy;
let templates: CompiledTemplates;
beforeAll(() => {
  const result = loadPolicyFile('config/policy.example.yaml');
  if (!result.policy) throw new Error(JSON.stringify(result.problems));
  policy = result.policy;
  templates = compileTemplates(DEFAULT_TEMPLATES_DIR, policy);
});

const classification: Classification = {
  category: 'blood_test_request',
  action: 'reply',
  confidence: 0.9,
  organisation: 'Northmere University Hospitals NHS Trust',
  organisationId: 'northmere',
  reasons: [],
  scores: {},
};

function headers(overrides: Partial<MessageHeaders> = {}): MessageHeaders {
  return {
    messageId: '<orig-1@northmere.nhs.uk>',
    inReplyTo: null,
    references: ['<root@northmere.nhs.uk>'],
    date: new Date('2026-11-16T10:22:02Z'),
    subject: 'Request for U&E',
    from: { name: 'Debbie Marsh', address: 'debbie.marsh@northmere.nhs.uk' },
    replyTo: [],
    to: [],
    cc: [],
    returnPath: null,
    contentType: 'text/plain',
    headers: {},
    ...overrides,
  };
}

const render = (h: MessageHeaders, quote = 'Please arrange a U&E in 2 weeks.') =>
  renderReply(
    { headers: h, quoteSource: quote, classification, caseRef: 'PCN-000042', to: 'debbie.marsh@northmere.nhs.uk', from: 'rivermarsh.pcnalliance@nhs.net', messageId: '<pcn-autoreply.PCN-000042.abc@nhs.net>' },
    policy,
    templates,
  );

describe('renderReply', () => {
  it('threads the reply and marks it automatic', () => {
    const reply = render(headers());
    expect(reply.subject).toBe('Re: Request for U&E');
    expect(reply.inReplyTo).toBe('<orig-1@northmere.nhs.uk>');
    expect(reply.references).toEqual(['<root@northmere.nhs.uk>', '<orig-1@northmere.nhs.uk>']);
    expect(reply.headers).toMatchObject({ 'Auto-Submitted': 'auto-replied', 'X-Auto-Response-Suppress': 'All', 'X-PCN-Case-Id': 'PCN-000042' });
  });

  it('greets the trust of the address the reply goes to (a Reply-To at another listed trust)', () => {
    const reply = renderReply(
      { headers: headers(), quoteSource: 'Please arrange a U&E.', classification, caseRef: 'PCN-000042', to: 'staldrics.renal@nhs.net', from: 'rivermarsh.pcnalliance@nhs.net', messageId: '<pcn-autoreply.PCN-000042.abc@nhs.net>' },
      policy,
      templates,
    );
    expect(reply.text).toMatch(/Dear colleague at St Aldric's Hospital NHS Foundation Trust/);
    expect(reply.text).not.toMatch(/Northmere/);
  });

  it('a long References chain keeps its root and its latest messages', () => {
    const chain = Array.from({ length: 15 }, (_, i) => `<ref${String(i + 1).padStart(2, '0')}@northmere.nhs.uk>`);
    const { references } = render(headers({ references: chain }));
    expect(references).toHaveLength(10);
    expect(references[0]).toBe('<ref01@northmere.nhs.uk>');
    expect(references.slice(-2)).toEqual(['<ref15@northmere.nhs.uk>', '<orig-1@northmere.nhs.uk>']);
  });

  it('a message without a subject is thanked without an empty quotation', () => {
    const { text, html } = render(headers({ subject: '' }));
    expect(text).not.toContain('""');
    expect(html).not.toContain('&ldquo;&rdquo;');
    expect(text).toMatch(/Thank you for your message of 16 November 2026\./);
  });

  it('"Re[2]:" is already a reply subject', () => {
    expect(replySubject('Re[2]: Bloods')).toBe('Re[2]: Bloods');
  });

  it('says who we are, cites the contract, gives the urgent line and the case reference', () => {
    const { text, html } = render(headers());
    for (const part of [text, html]) {
      expect(part).toContain('River &');
      expect(part).toContain('Rivermarsh LMC');
      expect(part).toContain('01632 960000');
      expect(part).toContain('PCN-000042');
      expect(part).toContain(policy.data.contract.year);
    }
    expect(text).toContain('Please arrange a U&E in 2 weeks.');
  });

  it('quotes a long request briefly: folded to one line, cut at a word near 300 characters, with " ..."', () => {
    const sentence = 'Please   arrange\n\nbloods, an ECG and a chest X-ray before the clinic review.\t';
    const long = sentence.repeat(12);
    const { text } = render(headers(), long);
    const flat = long.replace(/\s+/g, ' ').trim();
    const cut = flat.slice(0, 300);
    const expected = `${cut.slice(0, cut.lastIndexOf(' '))} ...`;
    expect(expected.length).toBeGreaterThan(250);
    expect(text.replace(/\s+/g, ' ')).toContain(expected);
    expect(text.replace(/\s+/g, ' ')).not.toContain(flat.slice(0, 320));
    // Just short enough to be quoted whole.
    const whole = 'x'.repeat(295) + '\n\n  end';
    expect(render(headers(), whole).text.replace(/\s+/g, ' ')).toContain(`${'x'.repeat(295)} end`);
    // A word ending exactly at the limit, with more after it, is still a cut quote.
    expect(render(headers(), `${'x'.repeat(300)}\n more`).text.replace(/\s+/g, ' ')).toContain(`${'x'.repeat(300)} ... `);
  });

  it('escapes markup that a hospital wrote in the HTML part, and keeps it readable in the text part', () => {
    const hostile = headers({ subject: '<script>alert(1)</script> bloods', from: { name: '<img src=x onerror=alert(1)>', address: 'a@northmere.nhs.uk' } });
    const { html, text } = render(hostile, 'Please <b>arrange</b> <script>steal()</script>');
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;');
    expect(html).not.toContain('<b>arrange</b>');
    expect(text).toContain('<script>alert(1)</script> bloods');
  });

  it.each([
    ['Request for U&E', 'Re: Request for U&E'],
    ['RE: Request for U&E', 'RE: Request for U&E'],
    ['re:Request', 're:Request'],
    ['Injected\r\nBcc: victim@example.com', 'Re: Injected Bcc: victim@example.com'],
    ['', 'Re: your message'],
  ])('subject %j becomes %j (no doubled Re:, never a line break)', (original, expected) => {
    expect(replySubject(original)).toBe(expected);
  });

  it.each([
    ['<ok@host>', '<ok@host>'],
    ['<bad\r\nBcc: x@y>', null],
    ['no-brackets@host', null],
    ['<a> <b>', null],
    [null, null],
  ])('copies Message-ID %j as %j', (value, expected) => {
    expect(safeMessageId(value)).toBe(expected);
  });

  it('drops an unsafe Message-ID instead of threading on it', () => {
    const reply = render(headers({ messageId: '<x>\r\nBcc: victim@example.com', references: [] }));
    expect(reply.inReplyTo).toBeNull();
    expect(reply.references).toEqual([]);
  });
});
