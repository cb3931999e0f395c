/**
 * Proves the test harness itself: a real Dovecot that seeds in order and can change UIDVALIDITY,
 * an SMTP sink that records and fails on request, and a proxy that cuts IMAP mid-fetch.
 */
import { ImapFlow } from 'imapflow';
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, type DovecotServer } from '../support/dovecot.js';
import { buildMail } from '../support/mail-factory.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { startTcpProxy } from '../support/tcp-proxy.js';

describe('Dovecot harness', () => {
  let dovecot: DovecotServer;

  beforeAll(async () => {
    dovecot = await startDovecot();
  });
  afterAll(async () => {
    await dovecot?.stop();
  });

  it('seeds messages in the given order with their dates and flags, and imapflow fetches them by password login', async () => {
    const subjects = ['Discharge summary query', 'Please prescribe', 'Bloods request'];
    const messages = subjects.map((subject, index) =>
      buildMail({ subject, messageId: `<order-${index}@nhs.net>`, body: `Message number ${index}` }),
    );
    const receivedOn = new Date('2025-03-04T09:15:00Z');
    await dovecot.seed('INBOX', messages, { internalDates: [receivedOn], flags: [[], ['\\Seen'], []] });

    const client = new ImapFlow(dovecot.imapClientOptions());
    await client.connect();
    try {
      const lock = await client.getMailboxLock('INBOX');
      try {
        const fetched: Array<{ uid: number; messageId?: string; source: Buffer }> = [];
        for await (const message of client.fetch('1:*', { uid: true, envelope: true, source: true })) {
          fetched.push({ uid: message.uid, messageId: message.envelope?.messageId, source: message.source! });
        }
        expect(fetched.map((m) => m.messageId)).toEqual(['<order-0@nhs.net>', '<order-1@nhs.net>', '<order-2@nhs.net>']);
        expect(fetched.map((m) => m.uid)).toEqual([...fetched.map((m) => m.uid)].sort((a, b) => a - b));
        // Seeded bytes come back unchanged.
        expect(fetched[0]!.source.toString()).toBe(messages[0]);
        const parsed = await simpleParser(fetched[2]!.source);
        expect(parsed.subject).toBe('Bloods request');
      } finally {
        lock.release();
      }
    } finally {
      await client.logout();
    }

    const listed = await dovecot.list('INBOX');
    expect(listed.map((m) => m.subject)).toEqual(subjects);
    expect(listed[0]!.internalDate?.toISOString()).toBe(receivedOn.toISOString());
    expect(listed[1]!.flags).toEqual(['\\Seen']);
  });

  it('seeds into nested folders and lists them', async () => {
    await dovecot.seed('PCN/Review', [buildMail({ subject: 'Needs a person' })]);
    expect(await dovecot.mailboxes()).toEqual(expect.arrayContaining(['INBOX', 'PCN/Review']));
    expect((await dovecot.list('PCN/Review')).map((m) => m.subject)).toEqual(['Needs a person']);
  });

  it('rejects a wrong password quickly', async () => {
    const options = dovecot.imapClientOptions();
    const client = new ImapFlow({ ...options, auth: { user: dovecot.user, pass: 'wrong' } });
    const started = Date.now();
    await expect(client.connect()).rejects.toMatchObject({ authenticationFailed: true });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('changes UIDVALIDITY and renumbers the same messages, and imapflow sees it', async () => {
    await dovecot.seed('Resync', [buildMail({ subject: 'one' }), buildMail({ subject: 'two' })], { flags: [['\\Seen'], []] });
    const before = await dovecot.list('Resync');

    const client = new ImapFlow(dovecot.imapClientOptions());
    await client.connect();
    try {
      const opened = await client.mailboxOpen('Resync');
      const { before: validityBefore, after: validityAfter } = await dovecot.resetUidValidity('Resync');
      expect(opened.uidValidity).toBe(validityBefore);
      const reopened = await client.mailboxOpen('Resync');
      expect(reopened.uidValidity).toBe(validityAfter);
      expect(validityAfter).not.toBe(validityBefore);
    } finally {
      await client.logout();
    }

    const after = await dovecot.list('Resync');
    expect(after.map((m) => [m.messageId, m.flags])).toEqual(before.map((m) => [m.messageId, m.flags]));
    expect(Math.min(...after.map((m) => m.uid))).toBeGreaterThan(Math.max(...before.map((m) => m.uid)));
  });

  it('cuts an IMAP fetch in the middle through the proxy', async () => {
    const bigBody = 'Line of a long clinic letter that goes on.\n'.repeat(4000);
    await dovecot.seed('Big', Array.from({ length: 5 }, (_, i) => buildMail({ subject: `big ${i}`, body: bigBody })));
    const proxy = await startTcpProxy(dovecot.port);
    const client = new ImapFlow({ ...dovecot.imapClientOptions(), port: proxy.port });
    client.on('error', () => {
      // the cut surfaces here as well as in the fetch
    });
    await client.connect();
    try {
      await client.mailboxOpen('Big');
      const cut = proxy.cutAfterBytes(100_000);
      let fetchedCount = 0;
      const fetching = (async () => {
        for await (const message of client.fetch('1:*', { uid: true, source: true })) {
          if (message.source) fetchedCount++;
        }
      })();
      await expect(fetching).rejects.toThrow();
      await cut;
      expect(fetchedCount).toBeLessThan(5);
      expect(client.usable).toBe(false);

      // A new connection through the same proxy works again.
      const again = new ImapFlow({ ...dovecot.imapClientOptions(), port: proxy.port });
      await again.connect();
      const status = await again.status('Big', { messages: true });
      expect(status && status.messages).toBe(5);
      await again.logout();
    } finally {
      client.close();
      await proxy.stop();
    }
  });
});

describe('SMTP sink', () => {
  let sink: SmtpSink;

  beforeAll(async () => {
    sink = await startSmtpSink();
  });
  afterAll(async () => {
    await sink?.stop();
  });

  const reply = (n: number) => ({
    from: 'Riverside PCN <inbox@example.test>',
    to: 'cardiology.outpatients@nhs.net',
    subject: `Re: Request ${n}`,
    text: `Case PCN-${n}: this work is for the hospital under the NHS Standard Contract.`,
    html: `<p>Case PCN-${n}</p>`,
    inReplyTo: `<req-${n}@nhs.net>`,
    references: [`<req-${n}@nhs.net>`],
    headers: { 'Auto-Submitted': 'auto-replied', 'X-Auto-Response-Suppress': 'All', 'X-PCN-Case-Id': `PCN-${n}` },
  });

  it('records a mail sent through pooled nodemailer, with headers parsed', async () => {
    sink.clear();
    const transport = nodemailer.createTransport({ host: sink.host, port: sink.port, secure: false, ignoreTLS: true, pool: true });
    try {
      await transport.sendMail(reply(1));
    } finally {
      transport.close();
    }
    const [mail] = await sink.waitFor(1);
    expect(mail).toMatchObject({
      from: 'inbox@example.test',
      to: ['cardiology.outpatients@nhs.net'],
      subject: 'Re: Request 1',
      inReplyTo: '<req-1@nhs.net>',
      references: ['<req-1@nhs.net>'],
      autoSubmitted: 'auto-replied',
      autoResponseSuppress: 'All',
      pcnCaseId: 'PCN-1',
      headerFrom: 'inbox@example.test',
    });
    expect(mail!.text).toContain('Case PCN-1');
    expect(mail!.html).toContain('<p>Case PCN-1</p>');
  });

  it('answers 451 once when told to, then accepts', async () => {
    sink.clear();
    sink.failNext(1, 451);
    const transport = nodemailer.createTransport({ host: sink.host, port: sink.port, secure: false, ignoreTLS: true, pool: true });
    try {
      await expect(transport.sendMail(reply(2))).rejects.toMatchObject({ responseCode: 451 });
      await transport.sendMail(reply(2));
    } finally {
      transport.close();
    }
    expect(sink.messages.map((m) => m.pcnCaseId)).toEqual(['PCN-2']);
    expect(sink.rejected).toEqual([expect.objectContaining({ stage: 'data', code: 451 })]);
  });

  it('rejects a recipient with 550 and the server words', async () => {
    sink.clear();
    sink.failNext(1, 550, '5.1.1 User unknown', 'rcpt');
    const transport = nodemailer.createTransport({ host: sink.host, port: sink.port, secure: false, ignoreTLS: true });
    await expect(transport.sendMail(reply(3))).rejects.toMatchObject({ responseCode: 550, response: expect.stringContaining('User unknown') });
    expect(sink.messages).toHaveLength(0);
  });
});
