import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { earlierMessageKey } from '../../src/worker/message-key.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startDovecot, type DovecotServer } from '../support/dovecot.js';
import { startFaultySmtpSink, type FaultySmtpSink } from '../support/hardening-servers.js';
import { EXAMPLE_POLICY, readCaseEvents, readCases, SAMPLE_NOW, sampleMessages, SHARED_MAILBOX, spawnCli, workerEnv } from '../support/hardening-tools.js';

/** No loop is ever started: auto-responders, repeated senders, our own mail, and bounces. */
let dovecot: DovecotServer;
let sink: FaultySmtpSink;
let workDir: string;
let databasePath: string;

beforeAll(async () => {
  [dovecot, sink] = await Promise.all([startDovecot(), startFaultySmtpSink()]);
}, 120_000);
afterAll(async () => {
  await Promise.all([dovecot?.stop(), sink?.stop()]);
});
beforeEach(async () => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pcn-loops-'));
  databasePath = path.join(workDir, 'cases.sqlite');
  sink.clear();
  for (const box of await dovecot.mailboxes()) {
    if ((await dovecot.list(box).catch(() => [])).length) await dovecot.doveadm(['expunge', '-u', dovecot.user, 'mailbox', box, 'all']);
  }
});

const once = (extra: Record<string, string> = {}) =>
  spawnCli(['once', '--now', SAMPLE_NOW], workerEnv({ imapPort: dovecot.tlsPort, caPath: dovecot.caPath, user: dovecot.user, password: dovecot.password, smtpPort: sink.port, databasePath, extra })).done;

const bloods = sampleMessages().find((m) => m.name === '01-bloods.eml')!.raw.toString('utf8');
const HOSPITAL = 'debbie.marsh@northmere.nhs.uk';

/** The bloods request as a brand new thread: its own Message-ID and subject. */
function newRequest(id: string, from = `Debbie Marsh <${HOSPITAL}>`): Buffer {
  return Buffer.from(
    bloods
      .replace(/^Message-ID:.*$/im, `Message-ID: <${id}@northmere.nhs.uk>`)
      .replace(/^From:.*$/im, `From: ${from}`)
      .replace(/^Subject:(.*)$/im, `Subject:$1 (${id})`),
  );
}

describe('a non-compliant hospital auto-responder', () => {
  it('answering every reply with a quoted request and no automatic headers: the exchange stops at the loop guard, and the case says why', async () => {
    await dovecot.seed('INBOX', [newRequest('loop-0')]);
    expect((await once()).code).toBe(0);
    let answered = 0;
    for (let round = 1; round <= 4; round++) {
      const ours = sink.messages.slice(answered);
      answered = sink.messages.length;
      if (ours.length === 0) break;
      // The responder answers each reply it got, quoting the original request back as new text.
      await dovecot.seed(
        'INBOX',
        ours.map((reply, i) =>
          Buffer.from(
            [
              `From: Debbie Marsh <${HOSPITAL}>`,
              `To: ${SHARED_MAILBOX}`,
              `Subject: RE: ${reply.subject}`,
              'Date: Fri, 20 Nov 2026 08:30:00 +0000',
              `Message-ID: <responder-${round}-${i}@northmere.nhs.uk>`,
              `In-Reply-To: ${reply.messageId}`,
              `References: ${reply.references.join(' ')} ${reply.messageId}`,
              'Content-Type: text/plain; charset=utf-8',
              '',
              'Thank you for your email. Please could the GP practice arrange the U&E blood test in 2 weeks and forward the results to us.',
            ].join('\r\n'),
          ),
        ),
      );
      const result = await once();
      expect(result.code, result.stderr).toBe(0);
    }
    expect(sink.messages, 'only the first request was answered').toHaveLength(1);
    const responderCases = readCases(databasePath).filter((c) => c.message_id.startsWith('<responder-'));
    expect(responderCases.length).toBeGreaterThanOrEqual(1);
    for (const c of responderCases) {
      expect(c.status).toBe('review');
      expect(c.reasons).toMatch(/limits\.threadReplyWindowDays|loop guard/);
    }
  });

  it('a reply to our reply that names it only in In-Reply-To, and a forward of our reply, go to a person, never a second template', async () => {
    await dovecot.seed('INBOX', [newRequest('irt-0')]);
    expect((await once()).code).toBe(0);
    expect(sink.messages).toHaveLength(1);
    const [reply] = sink.messages;
    const answer = (lines: string[]): Buffer => Buffer.from([`From: Debbie Marsh <${HOSPITAL}>`, `To: ${SHARED_MAILBOX}`, 'Date: Fri, 20 Nov 2026 08:30:00 +0000', 'Content-Type: text/plain; charset=utf-8', ...lines].join('\r\n'));
    await dovecot.seed('INBOX', [
      answer([`Subject: RE: ${reply!.subject}`, '<irt-1@northmere.nhs.uk>'.replace(/^/, 'Message-ID: '), `In-Reply-To: ${reply!.messageId}`, '', 'Thank you, but we would be grateful if the practice could still arrange the repeat U&E in 2 weeks.']),
      answer([`Subject: FW: ${reply!.subject}`, 'Message-ID: <irt-2@northmere.nhs.uk>', '', 'Please could the GP practice arrange the repeat U&E in 2 weeks.', '', '---------- Forwarded message ---------', `From: ${SHARED_MAILBOX}`, `Subject: ${reply!.subject}`, '', reply!.text]),
    ]);
    const result = await once();
    expect(result.code, result.stderr).toBe(0);
    expect(sink.messages, 'no second reply').toHaveLength(1);
    const answers = readCases(databasePath).filter((c) => /^<irt-[12]@/.test(c.message_id));
    expect(answers.map((c) => c.status)).toEqual(['review', 'review']);
    for (const c of answers) expect(c.reasons).toMatch(/loop\.answersOurReply/);
  });

  it('a different message under a Message-ID already logged is not lost as "already seen": it is logged and waits for a person; a copy of either is seen', async () => {
    const reused = (subject: string, text: string): Buffer =>
      Buffer.from([`From: Debbie Marsh <${HOSPITAL}>`, `To: ${SHARED_MAILBOX}`, `Subject: ${subject}`, 'Date: Thu, 19 Nov 2026 09:00:00 +0000', 'Message-ID: <fixed-id@epr.northmere.nhs.uk>', 'Content-Type: text/plain; charset=utf-8', '', text].join('\r\n'));
    const routine = reused('Request for U&E - Mr B', 'Could the GP practice please arrange a repeat U&E in 2 weeks.');
    const urgent = Buffer.from(reused('Mrs C - result', 'Mrs C: her potassium is 6.9 today, please contact her urgently.').toString().replace('Date: Thu, 19 Nov 2026 09:00:00', 'Date: Thu, 19 Nov 2026 11:30:00'));
    await dovecot.seed('INBOX', [routine]);
    expect((await once()).code).toBe(0);
    await dovecot.seed('INBOX', [urgent, routine, urgent]);
    const result = await once();
    expect(result.code, result.stderr).toBe(0);
    const cases = readCases(databasePath).filter((c) => c.message_id === '<fixed-id@epr.northmere.nhs.uk>');
    expect(cases.map((c) => [c.category, c.status])).toEqual([
      ['blood_test_request', 'replied'],
      ['urgent_clinical', 'review'],
    ]);
    expect(sink.messages).toHaveLength(1);
  });

  it('a message without a Message-ID delivered twice (one more Received line) gets one reply', async () => {
    const copy = (received: string): Buffer =>
      Buffer.from([received, `From: Debbie Marsh <${HOSPITAL}>`, `To: ${SHARED_MAILBOX}`, 'Subject: Request for U&E - Mr B', 'Date: Thu, 19 Nov 2026 09:00:00 +0000', 'Content-Type: text/plain; charset=utf-8', '', 'Could the GP practice please arrange a repeat U&E in 2 weeks.'].join('\r\n'));
    await dovecot.seed('INBOX', [copy('Received: from mx1 by mx.nhs.net; Thu, 19 Nov 2026 09:00:01 +0000'), copy('Received: from mx2 by mx.nhs.net; Thu, 19 Nov 2026 09:07:00 +0000')]);
    const result = await once();
    expect(result.code, result.stderr).toBe(0);
    expect(sink.messages).toHaveLength(1);
    expect(readCases(databasePath)).toHaveLength(1);
  });

  it('two different messages without a Message-ID, with the same sender, subject and no Date, are both logged', async () => {
    const message = (received: string, text: string): Buffer =>
      Buffer.from([received, `From: Pathology <${HOSPITAL}>`, `To: ${SHARED_MAILBOX}`, 'Subject: Pathology result', 'Content-Type: text/plain; charset=utf-8', '', text].join('\r\n'));
    await dovecot.seed('INBOX', [
      message('Received: from mx1 by mx.nhs.net; Thu, 19 Nov 2026 09:00:01 +0000', 'Could the GP practice please arrange a repeat U&E in 2 weeks.'),
      message('Received: from mx1 by mx.nhs.net; Thu, 19 Nov 2026 09:20:01 +0000', 'URGENT: potassium 6.9 on today\'s sample. Please contact the patient today.'),
    ]);
    const result = await once();
    expect(result.code, result.stderr).toBe(0);
    expect(readCases(databasePath).map((c) => c.category).sort()).toEqual(['blood_test_request', 'urgent_clinical']);
  });

  it('a no-reply sender is never answered, and its urgent letter still reaches a person', async () => {
    const from = (address: string, subject: string, text: string): Buffer =>
      Buffer.from([`From: ${address}`, `To: ${SHARED_MAILBOX}`, `Subject: ${subject}`, 'Date: Thu, 19 Nov 2026 09:00:00 +0000', `Message-ID: <${subject.replace(/\W/g, '')}@northmere.nhs.uk>`, 'Content-Type: text/plain; charset=utf-8', '', text].join('\r\n'));
    await dovecot.seed('INBOX', [
      from('renal.secretaries-donotreply@northmere.nhs.uk', 'Re: Request for U&E - Mr B', 'This is an automated acknowledgement. Could the GP practice please arrange a repeat U&E in 2 weeks.'),
      from('edischarge-donotreply@northmere.nhs.uk', 'Discharge summary - Mr C', 'GP actions: URGENT - potassium 6.9 on discharge bloods; please contact the patient today.'),
    ]);
    const result = await once();
    expect(result.code, result.stderr).toBe(0);
    expect(sink.messages).toHaveLength(0);
    const cases = readCases(databasePath);
    expect(cases.map((c) => [c.from_address, c.category, c.status])).toEqual([
      ['renal.secretaries-donotreply@northmere.nhs.uk', 'blood_test_request', 'review'],
      ['edischarge-donotreply@northmere.nhs.uk', 'urgent_clinical', 'review'],
    ]);
  });

  it('a log from before 2026-11-28 still knows its messages without a Message-ID (keyed by the whole header block)', async () => {
    const lines = [`From: Debbie Marsh <${HOSPITAL}>`, `To: ${SHARED_MAILBOX}`, 'Subject: Request for U&E - Mrs E', 'Date: Thu, 19 Nov 2026 09:00:00 +0000', 'Content-Type: text/plain; charset=utf-8'];
    await dovecot.seed('INBOX', [Buffer.from([...lines, '', 'Could the GP practice please arrange a repeat U&E in 2 weeks.'].join('\r\n'))]);
    expect((await once()).code).toBe(0);
    expect(sink.messages).toHaveLength(1);
    // As the earlier version logged it; then a person moves the message back to the inbox.
    const db = new Database(databasePath);
    db.prepare('UPDATE cases SET message_key = ?').run(earlierMessageKey({ header: Buffer.from(`${lines.join('\r\n')}\r\n\r\n`) }));
    db.close();
    await dovecot.doveadm(['move', '-u', dovecot.user, 'INBOX', 'mailbox', 'PCN/Replied', 'all']);
    const again = await once();
    expect(again.code, again.stderr).toBe(0);
    expect(readCases(databasePath)).toHaveLength(1);
    expect(sink.messages).toHaveLength(1);
  });

  it('a different, routine message under a logged Message-ID gets no reply of its own until a person looks', async () => {
    const reused = (subject: string, date: string): Buffer =>
      Buffer.from([`From: Debbie Marsh <${HOSPITAL}>`, `To: ${SHARED_MAILBOX}`, `Subject: ${subject}`, `Date: ${date}`, 'Message-ID: <fixed-id-2@epr.northmere.nhs.uk>', 'Content-Type: text/plain; charset=utf-8', '', 'Could the GP practice please arrange a repeat U&E in 2 weeks.'].join('\r\n'));
    await dovecot.seed('INBOX', [reused('Request for U&E - Mr B', 'Thu, 19 Nov 2026 09:00:00 +0000'), reused('Request for U&E - Mrs D', 'Thu, 19 Nov 2026 10:00:00 +0000')]);
    expect((await once()).code).toBe(0);
    const cases = readCases(databasePath).filter((c) => c.message_id === '<fixed-id-2@epr.northmere.nhs.uk>');
    expect(cases.map((c) => c.status)).toEqual(['replied', 'review']);
    expect(cases[1]!.reasons).toMatch(/duplicate\.messageId.*PCN-\d{6}/);
    expect(sink.messages).toHaveLength(1);
  });

  it('new threads from one sender beyond repliesPerSenderPerDay go to review naming the limit', async () => {
    const policyFile = path.join(workDir, 'policy.yaml');
    const policy = fs.readFileSync(EXAMPLE_POLICY, 'utf8');
    expect(policy).toMatch(/repliesPerSenderPerDay: \d+/);
    fs.writeFileSync(policyFile, policy.replace(/repliesPerSenderPerDay: \d+/, 'repliesPerSenderPerDay: 2'));
    await dovecot.seed('INBOX', ['cap-1', 'cap-2', 'cap-3', 'cap-4'].map((id) => newRequest(id)));
    const result = await once({ POLICY_FILE: policyFile });
    expect(result.code, result.stderr).toBe(0);
    await sink.waitFor(2, 5000);
    expect(sink.messages).toHaveLength(2);
    const rows = readCases(databasePath);
    expect(rows.filter((c) => c.status === 'replied')).toHaveLength(2);
    const capped = rows.filter((c) => c.status === 'review');
    expect(capped).toHaveLength(2);
    for (const c of capped) expect(c.reasons).toContain('limits.repliesPerSenderPerDay');
    // A second pass the same day does not reopen the cap.
    await dovecot.seed('INBOX', [newRequest('cap-5')]);
    expect((await once({ POLICY_FILE: policyFile })).code).toBe(0);
    expect(sink.messages).toHaveLength(2);
  });
});

describe('mail that must never start a conversation', () => {
  it('a request-like message from our own address is ignored as sender.own-address', async () => {
    await dovecot.seed('INBOX', [newRequest('own-1', `River & Marsh PCN Alliance <${SHARED_MAILBOX}>`)]);
    const result = await once();
    expect(result.code, result.stderr).toBe(0);
    const [row] = readCases(databasePath);
    expect(row?.status).toBe('ignored');
    expect(row?.reasons).toContain('sender.own-address');
    expect(sink.messages).toHaveLength(0);
  });

  it('a bounce of our reply is not answered, is recorded against the case, and the address gets no reply during the cooldown', async () => {
    await dovecot.seed('INBOX', [newRequest('bounce-0')]);
    expect((await once()).code).toBe(0);
    expect(sink.messages).toHaveLength(1);
    const ourReply = sink.messages[0]!;
    const boundary = 'bounce-boundary-1';
    const bounce = [
      'From: Mail Delivery System <MAILER-DAEMON@northmere.nhs.uk>',
      `To: ${SHARED_MAILBOX}`,
      // A bounce's subject often carries the original's, and with it the patient's NHS number.
      'Subject: Undelivered Mail Returned to Sender: Re: Bloods NHS 999 151 3345',
      'Date: Fri, 20 Nov 2026 08:40:00 +0000',
      'Message-ID: <bounce-report-1@northmere.nhs.uk>',
      'Return-Path: <>',
      'Auto-Submitted: auto-replied',
      `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
      'MIME-Version: 1.0',
      '',
      `--${boundary}`,
      'Content-Type: text/plain; charset=us-ascii',
      '',
      `Your message to ${HOSPITAL} could not be delivered: mailbox full.`,
      `--${boundary}`,
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.northmere.nhs.uk',
      '',
      `Final-Recipient: rfc822; ${HOSPITAL}`,
      'Action: failed',
      'Status: 5.2.2',
      `--${boundary}`,
      'Content-Type: text/rfc822-headers',
      '',
      `From: ${SHARED_MAILBOX}`,
      `To: ${HOSPITAL}`,
      `Subject: ${ourReply.subject}`,
      `Message-ID: ${ourReply.messageId}`,
      `In-Reply-To: ${ourReply.inReplyTo}`,
      `--${boundary}--`,
      '',
    ].join('\r\n');
    await dovecot.seed('INBOX', [bounce]);
    const result = await once();
    expect(result.code, result.stderr).toBe(0);
    expect(sink.messages, 'the bounce was not answered').toHaveLength(1);
    const rows = readCases(databasePath);
    expect(rows.find((c) => c.message_id === '<bounce-report-1@northmere.nhs.uk>')?.status).not.toBe('replied');
    const original = rows.find((c) => c.message_id === '<bounce-0@northmere.nhs.uk>')!;
    const db = new Database(databasePath, { readonly: true });
    const bounces = db.prepare('SELECT address, case_id, detail FROM bounces').all() as Array<{ address: string; case_id: number | null; detail: string }>;
    db.close();
    expect(bounces).toEqual([{ address: HOSPITAL, case_id: original.id, detail: 'Undelivered Mail Returned to Sender: Re: Bloods NHS 999 *** ****' }]);
    const bounceNote = readCaseEvents(databasePath).find((e) => e.case_id === original.id && /bounced/.test(e.note ?? ''))?.note;
    expect(bounceNote).toContain('Re: Bloods NHS 999 *** ****');

    // A fresh request from the bounced address, in a new thread, waits for a person.
    await dovecot.seed('INBOX', [newRequest('after-bounce')]);
    expect((await once()).code).toBe(0);
    expect(sink.messages).toHaveLength(1);
    const later = readCases(databasePath).find((c) => c.message_id === '<after-bounce@northmere.nhs.uk>');
    expect(later?.status).toBe('review');
    expect(later?.reasons).toContain('limits.bounceCooldownDays');
  });
});
