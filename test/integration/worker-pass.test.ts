import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startDovecot, type DovecotServer } from '../support/dovecot.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { SAMPLE_EXPECTED } from '../support/hardening-tools.js';
import { buildMail } from '../support/mail-factory.js';
import { pdfLetter } from '../support/pdf-letter.js';
import { CLI, REPO_ROOT, runCli } from '../support/run-cli.js';

/**
 * The worker end to end, as an administrator runs it: `once` as a separate process against a real
 * Dovecot and a real SMTP server on loopback, with a real SQLite file.
 */
const SAMPLE_DIR = path.join(REPO_ROOT, 'data/sample-inbox');
const NOW = '2026-11-20T09:00:00Z';
const MAILBOX = 'rivermarsh.pcnalliance@nhs.net';

const sample = fs
  .readdirSync(SAMPLE_DIR)
  .filter((name) => name.endsWith('.eml'))
  .sort()
  .map((name) => ({ name, raw: fs.readFileSync(path.join(SAMPLE_DIR, name)) }));
const messageIdOf = (raw: Buffer) => /^Message-ID:\s*(<[^>]+>)/im.exec(raw.toString('utf8'))![1]!;
const fromOf = (raw: Buffer) => /^From:.*<([^>]+)>/im.exec(raw.toString('utf8'))![1]!;

/** What the example policy must do with each sample message. */
const EXPECTED = SAMPLE_EXPECTED;
const REPLIED = sample.filter((m) => EXPECTED[m.name] === 'replied');

let dovecot: DovecotServer;
let sink: SmtpSink;
let workDir: string;
let databasePath: string;

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    IMAP_HOST: '127.0.0.1',
    IMAP_PORT: String(dovecot.tlsPort),
    IMAP_SECURE: 'true',
    IMAP_TLS_CA_FILE: dovecot.caPath,
    IMAP_USER: dovecot.user,
    IMAP_PASSWORD: dovecot.password,
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String(sink.port),
    SMTP_SECURE: 'false',
    SMTP_AUTH: 'none',
    SMTP_RETRY_DELAY_MS: '50',
    MAIL_FROM: MAILBOX,
    POLICY_FILE: path.join(REPO_ROOT, 'config/policy.example.yaml'),
    DATABASE_PATH: databasePath,
    LOG_LEVEL: 'info',
    ...extra,
  };
}

const once = (args: string[] = [], extra: Record<string, string> = {}) => runCli(['once', '--now', NOW, ...args], env(extra));

function cases(): Array<{ id: number; message_id: string; status: string; category: string; reply_message_id: string | null; smtp_response: string | null; note: string | null }> {
  const db = new Database(databasePath, { readonly: true });
  try {
    return db.prepare('SELECT id, message_id, status, category, reply_message_id, smtp_response, note FROM cases ORDER BY id').all() as never;
  } finally {
    db.close();
  }
}

async function clearMailbox(): Promise<void> {
  await dovecot.doveadm(['expunge', '-u', dovecot.user, 'mailbox', '*', 'all']);
}

beforeAll(async () => {
  [dovecot, sink] = await Promise.all([startDovecot(), startSmtpSink()]);
});

afterAll(async () => {
  await Promise.all([dovecot?.stop(), sink?.stop()]);
});

beforeEach(async () => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pcn-worker-'));
  databasePath = path.join(workDir, 'cases.sqlite');
  await clearMailbox();
  sink.clear();
});

describe('a pass over the shared mailbox', () => {
  it('replies exactly to the hospital requests, files every message and logs every case', async () => {
    await dovecot.seed('INBOX', sample.map((m) => m.raw), {
      // A member of staff has already read one of the requests: the worker must not rely on \Seen.
      flags: sample.map((m) => (m.name === '01-bloods.eml' ? ['\\Seen'] : undefined)),
    });

    const result = await once();
    expect(result.stderr).not.toMatch(/inboxpass/);
    expect(result.code, result.stderr).toBe(0);

    await sink.waitFor(REPLIED.length, 10_000);
    expect(sink.messages).toHaveLength(REPLIED.length);
    const byInReplyTo = new Map(sink.messages.map((m) => [m.inReplyTo, m]));
    for (const original of REPLIED) {
      const reply = byInReplyTo.get(messageIdOf(original.raw));
      expect(reply, `a reply to ${original.name}`).toBeDefined();
      expect(reply!.to).toEqual([fromOf(original.raw)]);
      expect(reply!.from).toBe(MAILBOX);
      expect(reply!.subject).toMatch(/^Re: /);
      expect(reply!.subject).not.toMatch(/^Re: Re:/i);
      expect(reply!.references).toContain(messageIdOf(original.raw));
      expect(reply!.headers.get('auto-submitted')).toBe('auto-replied');
      expect(reply!.headers.get('x-auto-response-suppress')).toBe('All');
      const caseId = reply!.headers.get('x-pcn-case-id') as string;
      expect(caseId).toMatch(/^PCN-\d{6}$/);
      expect(reply!.text).toContain(caseId);
      expect(reply!.text).toContain('01632 960000');
      expect(reply!.html).toContain(caseId);
    }

    const rows = cases();
    expect(rows).toHaveLength(sample.length);
    for (const m of sample) {
      const row = rows.find((r) => r.message_id === messageIdOf(m.raw));
      expect(row?.status, m.name).toBe(EXPECTED[m.name]);
    }
    expect(rows.filter((r) => r.status === 'replied').map((r) => r.reply_message_id).sort()).toEqual(
      sink.messages.map((m) => m.messageId).sort(),
    );

    expect(await dovecot.list('INBOX')).toHaveLength(0);
    expect(await dovecot.list('PCN/Replied')).toHaveLength(REPLIED.length);
    expect(await dovecot.list('PCN/Review')).toHaveLength(1);
    expect(await dovecot.list('PCN/Filed')).toHaveLength(3);
    expect(await dovecot.list('PCN/Ignored')).toHaveLength(1);

    // A second pass finds nothing new and sends nothing.
    const again = await once();
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/No new mail/);
    expect(sink.messages).toHaveLength(REPLIED.length);
  });

  it('never replies twice to a message that comes back: copied back to the inbox, or after a UIDVALIDITY change', async () => {
    const bloods = sample.find((m) => m.name === '01-bloods.eml')!;
    await dovecot.seed('INBOX', [bloods.raw]);
    expect((await once()).code).toBe(0);
    expect(sink.messages).toHaveLength(1);

    // A person drags the message back into the inbox (a new UID, the same Message-ID).
    await dovecot.seed('INBOX', [bloods.raw]);
    expect((await once()).code).toBe(0);
    // The mailbox is rebuilt: every UID changes.
    await dovecot.resetUidValidity('INBOX');
    const afterReset = await once();
    expect(afterReset.code, afterReset.stderr).toBe(0);
    expect(afterReset.stderr).toMatch(/UIDVALIDITY changed/);
    expect(sink.messages).toHaveLength(1);
    expect(cases()).toHaveLength(1);
    // The copy a person put back is theirs: it stays where they put it.
    expect(await dovecot.list('INBOX')).toHaveLength(1);
  });

  it('reads attached PDF letters: a request in one is answered; one marked urgent, or one too large to read, is left for a person', async () => {
    const letterMail = (messageId: string, lines: string[], body = 'Please see the attached letter.', padding = 0) =>
      buildMail({
        from: 'Renal Clinic <renal.clinic@northmere.nhs.uk>',
        to: MAILBOX,
        subject: 'Clinic letter',
        date: new Date('2026-11-19T15:00:00Z'),
        messageId,
        body: `Dear GP,\n\n${body}\n\nRenal Clinic\nNorthmere University Hospitals NHS Trust`,
        attachments: [{ filename: 'letter.pdf', contentType: 'application/pdf', content: Buffer.concat([pdfLetter(lines), Buffer.alloc(padding, 0x20)]) }],
      });
    await dovecot.seed('INBOX', [
      letterMail('<letter-request@northmere.nhs.uk>', ['Renal clinic letter', 'We would be grateful if the GP could arrange a repeat U&E in 4 weeks.']),
      letterMail('<letter-urgent@northmere.nhs.uk>', ['URGENT - critical result', 'Potassium 6.9 mmol/L.', 'We would be grateful if the GP could arrange a repeat U&E today.']),
      // The request is in the e-mail; the letter (a scan, say) is over the 2 MB the worker reads.
      letterMail('<letter-unread@northmere.nhs.uk>', ['URGENT - critical result'], 'Please could the practice arrange a repeat U&E in 4 weeks. Letter attached.', 2.5 * 1024 * 1024),
    ]);
    const result = await once();
    expect(result.code, result.stderr).toBe(0);
    const byMessageId = new Map(cases().map((row) => [row.message_id, row]));
    expect(byMessageId.get('<letter-request@northmere.nhs.uk>')).toMatchObject({ status: 'replied', category: 'blood_test_request' });
    expect(byMessageId.get('<letter-urgent@northmere.nhs.uk>')).toMatchObject({ status: 'review', category: 'urgent_clinical', reply_message_id: null });
    expect(byMessageId.get('<letter-unread@northmere.nhs.uk>')).toMatchObject({ status: 'review', category: 'blood_test_request', reply_message_id: null });
    await sink.waitFor(1, 10_000);
    expect(sink.messages.map((m) => m.inReplyTo)).toEqual(['<letter-request@northmere.nhs.uk>']);
    expect((await dovecot.list('PCN/Review')).map((m) => m.messageId).sort()).toEqual(['<letter-unread@northmere.nhs.uk>', '<letter-urgent@northmere.nhs.uk>']);
    const unread = await runCli(['why', '<letter-unread@northmere.nhs.uk>', '--database', databasePath]);
    expect(unread.stdout).toMatch(/letter\.pdf: \d+ bytes, over the 2097152-byte limit for reading PDF attachments: not read/);
    const why = await runCli(['why', '<letter-urgent@northmere.nhs.uk>', '--database', databasePath]);
    expect(why.stdout).toMatch(/critical-result: matched "critical result" in attachment/);
  });

  it('logs the words a rule matched with any NHS number in them masked, as the subject and excerpt are', async () => {
    await dovecot.seed('INBOX', [
      buildMail({
        from: 'Renal Clinic <renal.clinic@northmere.nhs.uk>',
        to: MAILBOX,
        subject: 'Bloods for NHS 999 151 3345',
        date: new Date('2026-11-19T15:00:00Z'),
        messageId: '<nhs-in-match@northmere.nhs.uk>',
        body: 'Dear GP,\n\nPlease could you, for Mr Test NHS 999 151 3345, arrange bloods in 2 weeks.\n\nRenal Clinic',
      }),
    ]);
    expect((await once(['--dry-run'])).code).toBe(0);
    const audit = await runCli(['audit', '--format', 'json', '--database', databasePath]);
    const [record] = audit.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(record.status).toBe('would_reply');
    expect(record.subject).toBe('Bloods for NHS 999 *** ****');
    expect(JSON.stringify(record.reasons)).toContain('for Mr Test NHS 999 *** ****, arrange');
    expect(audit.stdout).not.toMatch(/151.?3345/);
  });

  it('a request to a colleague with our mailbox only copied in is left for a person, not answered', async () => {
    const request = (messageId: string, to: string, cc: string) =>
      buildMail({
        from: 'Dr A Consultant <a.consultant@northmere.nhs.uk>',
        to,
        cc,
        subject: 'Lumbar spine',
        date: new Date('2026-11-19T15:00:00Z'),
        messageId,
        body: 'Dear colleague,\n\nCould you please arrange an MRI of the lumbar spine for this patient?\n\nDr A Consultant',
      });
    await dovecot.seed('INBOX', [
      request('<copied-in@northmere.nhs.uk>', 'Dr B Khan <b.khan@northmere.nhs.uk>', `PCN Alliance <${MAILBOX}>`),
      request('<addressed-to-us@northmere.nhs.uk>', `PCN Alliance <${MAILBOX}>`, 'Dr B Khan <b.khan@northmere.nhs.uk>'),
    ]);
    expect((await once()).code).toBe(0);
    const byMessageId = new Map(cases().map((row) => [row.message_id, row]));
    expect(byMessageId.get('<copied-in@northmere.nhs.uk>')).toMatchObject({ status: 'review', category: 'investigation_request' });
    expect(byMessageId.get('<addressed-to-us@northmere.nhs.uk>')).toMatchObject({ status: 'replied', category: 'investigation_request' });
    await sink.waitFor(1, 10_000);
    expect(sink.messages.map((m) => m.inReplyTo)).toEqual(['<addressed-to-us@northmere.nhs.uk>']);
    const why = await runCli(['why', '<copied-in@northmere.nhs.uk>', '--database', databasePath]);
    expect(why.stdout).toContain('addressed.copy-only');
  });

  it('a request the hospital marked high importance waits for a person, its reply ready; the same request unmarked is answered', async () => {
    const request = (messageId: string, headers: Record<string, string>) =>
      buildMail({
        from: 'Renal Clinic <renal.clinic@northmere.nhs.uk>',
        to: MAILBOX,
        subject: 'Bloods',
        date: new Date('2026-11-19T15:00:00Z'),
        messageId,
        headers,
        body: 'Dear GP,\n\nPlease could you arrange a repeat U&E in 2 weeks for this patient.\n\nRenal Clinic',
      });
    await dovecot.seed('INBOX', [
      request('<marked-high@northmere.nhs.uk>', { Importance: 'High', 'X-Priority': '1 (Highest)' }),
      request('<marked-normal@northmere.nhs.uk>', { Importance: 'Normal', 'X-Priority': '3' }),
    ]);
    expect((await once()).code).toBe(0);
    const byMessageId = new Map(cases().map((row) => [row.message_id, row]));
    expect(byMessageId.get('<marked-high@northmere.nhs.uk>')).toMatchObject({ status: 'review', category: 'blood_test_request' });
    expect(byMessageId.get('<marked-normal@northmere.nhs.uk>')).toMatchObject({ status: 'replied', category: 'blood_test_request' });
    await sink.waitFor(1, 10_000);
    expect(sink.messages.map((m) => m.inReplyTo)).toEqual(['<marked-normal@northmere.nhs.uk>']);
    const why = await runCli(['why', '<marked-high@northmere.nhs.uk>', '--database', databasePath]);
    expect(why.stdout).toContain('urgency.holdMarkedImportant');
    expect(why.stdout).toContain('Importance: High');
  });

  it('a forward whose forwarded result is critical is left for a person as urgent, not answered', async () => {
    await dovecot.seed('INBOX', [
      buildMail({
        from: 'Renal Secretaries <renal.secretaries@northmere.nhs.uk>',
        to: MAILBOX,
        subject: 'FW: Lab result',
        date: new Date('2026-11-19T15:00:00Z'),
        messageId: '<forwarded-critical@northmere.nhs.uk>',
        body: [
          'Dear GP,',
          '',
          'Please action the below and arrange a repeat U&E for this patient.',
          '',
          'Kind regards,',
          'Renal Secretaries',
          '',
          '________________________________',
          'From: Biochemistry <biochemistry@northmere.nhs.uk>',
          'Sent: 19 November 2026 08:10',
          'To: Renal Secretaries <renal.secretaries@northmere.nhs.uk>',
          'Subject: Lab result',
          '',
          'CRITICAL RESULT: potassium 6.9 mmol/L. Action today.',
        ].join('\n'),
      }),
    ]);
    expect((await once()).code).toBe(0);
    expect(cases()).toMatchObject([{ message_id: '<forwarded-critical@northmere.nhs.uk>', status: 'review', category: 'urgent_clinical' }]);
    expect(sink.messages).toHaveLength(0);
    const why = await runCli(['why', '<forwarded-critical@northmere.nhs.uk>', '--database', databasePath]);
    expect(why.stdout).toContain('CRITICAL RESULT');
  });

  it('two copies of one message in the same pass (copied by a person, or sent twice) make one case and at most one reply', async () => {
    const copied = ['01-bloods.eml', '07-out-of-office.eml', '08-patient.eml'].map((name) => sample.find((m) => m.name === name)!.raw);
    await dovecot.seed('INBOX', [...copied, ...copied]);
    const result = await once();
    expect(result.code, result.stderr).toBe(0);
    expect(cases().map((row) => row.status).sort()).toEqual(['filed', 'ignored', 'replied']);
    await sink.waitFor(1, 10_000);
    expect(sink.messages).toHaveLength(1);
    // The first copy of each is filed; the second is a person's, and stays where it is.
    expect(await dovecot.list('INBOX')).toHaveLength(3);
    // The next pass does not trip over them either.
    const again = await once();
    expect(again.code, again.stderr).toBe(0);
    expect(cases()).toHaveLength(3);
    expect(sink.messages).toHaveLength(1);
  });

  it('ignores a hospital out-of-office answer to our reply, and stops a non-compliant auto-responder at the loop guard', async () => {
    const bloods = sample.find((m) => m.name === '01-bloods.eml')!;
    await dovecot.seed('INBOX', [bloods.raw]);
    await once();
    expect(sink.messages).toHaveLength(1);
    const ourReply = sink.messages[0]!;
    const answer = (headers: string, body: string, id: string) =>
      Buffer.from(
        [
          'From: Debbie Marsh <debbie.marsh@northmere.nhs.uk>',
          `To: ${MAILBOX}`,
          `Subject: ${headers.includes('Auto-Submitted') ? 'Automatic reply: ' : 'RE: '}${ourReply.subject}`,
          'Date: Fri, 20 Nov 2026 08:30:00 +0000',
          `Message-ID: <${id}@northmere.nhs.uk>`,
          `In-Reply-To: ${ourReply.messageId}`,
          `References: ${messageIdOf(bloods.raw)} ${ourReply.messageId}`,
          headers,
          'Content-Type: text/plain; charset=utf-8',
          '',
          body,
        ]
          .filter(Boolean)
          .join('\r\n'),
      );
    await dovecot.seed('INBOX', [
      answer('Auto-Submitted: auto-replied', 'I am out of the office until Monday. For urgent matters contact the renal team.', 'ooo-1'),
      // A responder that marks nothing as automatic, quoting our reply back at us.
      answer('', 'Thank you for your email. Please could the GP practice arrange the U&E blood test as requested.', 'noncompliant-1'),
    ]);
    const result = await once();
    expect(result.code, result.stderr).toBe(0);
    expect(sink.messages).toHaveLength(1);
    const rows = cases();
    expect(rows.find((r) => r.message_id === '<ooo-1@northmere.nhs.uk>')?.status).toBe('ignored');
    expect(rows.find((r) => r.message_id === '<noncompliant-1@northmere.nhs.uk>')?.status).toBe('review');
  });
});

describe('exactly once across a crash', () => {
  it('a worker killed between "sending" and "replied" leaves the case for review and never resends it', async () => {
    const bloods = sample.find((m) => m.name === '01-bloods.eml')!;
    await dovecot.seed('INBOX', [bloods.raw]);
    const crashed = await once([], { PCN_CRASH_AT: 'after-smtp-accept' });
    expect(crashed.signal).toBe('SIGKILL');
    await sink.waitFor(1, 5000);
    expect(cases()[0]?.status).toBe('sending');

    const restarted = await once();
    expect(restarted.code, restarted.stderr).toBe(0);
    const [row] = cases();
    expect(row?.status).toBe('review');
    expect(row?.note).toMatch(/delivery not confirmed/);
    const third = await once();
    expect(third.code).toBe(0);
    expect(sink.messages).toHaveLength(1);
  });

  it('a reply interrupted mid-send that is in the Sent folder is recorded replied on restart and filed, never resent', async () => {
    const bloods = sample.find((m) => m.name === '01-bloods.eml')!;
    await dovecot.seed('INBOX', [bloods.raw]);
    const crashed = await once([], { PCN_CRASH_AT: 'after-smtp-accept' });
    expect(crashed.signal).toBe('SIGKILL');
    const [reply] = await sink.waitFor(1, 5000);
    // What Exchange does with a message the mailbox submits over SMTP: a copy in Sent Items (\Sent).
    await dovecot.seed('Sent', [reply!.raw]);

    const restarted = await once();
    expect(restarted.code, restarted.stderr).toBe(0);
    const [row] = cases();
    expect(row?.status).toBe('replied');
    expect(row?.note).toBe('the reply is in the Sent folder: it went out before its delivery could be confirmed');
    expect((await dovecot.list('PCN/Review')).length).toBe(0);
    expect((await dovecot.list('PCN/Replied')).length).toBe(1);
    expect((await once()).code).toBe(0);
    expect(sink.messages).toHaveLength(1);
    expect(cases()[0]?.status).toBe('replied');
  });

  it('a worker killed after recording the case but before SMTP sends the reply once on restart', async () => {
    const bloods = sample.find((m) => m.name === '01-bloods.eml')!;
    await dovecot.seed('INBOX', [bloods.raw]);
    const crashed = await once([], { PCN_CRASH_AT: 'after-record' });
    expect(crashed.signal).toBe('SIGKILL');
    expect(sink.messages).toHaveLength(0);
    expect((await once()).code).toBe(0);
    expect((await once()).code).toBe(0);
    expect(sink.messages).toHaveLength(1);
    expect(cases()[0]?.status).toBe('replied');
  });
});

describe('an SMTP server that refuses', () => {
  it('retries a 4xx refusal within the pass and then sends', async () => {
    await dovecot.seed('INBOX', [sample.find((m) => m.name === '02-echo.eml')!.raw]);
    sink.failNext(1, 451, 'Requested action aborted: local error in processing');
    const result = await once();
    expect(result.code, result.stderr).toBe(0);
    expect(sink.messages).toHaveLength(1);
    expect(cases()[0]?.status).toBe('replied');
  });

  it('puts a 5xx refusal in review with the server\'s words and does not retry it', async () => {
    await dovecot.seed('INBOX', [sample.find((m) => m.name === '04-dna.eml')!.raw]);
    sink.failNext(1, 550, 'Mailbox unavailable: no such user here');
    const result = await once();
    expect(result.code, result.stderr).toBe(0);
    expect(sink.messages).toHaveLength(0);
    const [row] = cases();
    expect(row?.status).toBe('review');
    expect(row?.smtp_response).toMatch(/no such user here/);
    expect((await dovecot.list('PCN/Review')).length).toBe(1);
  });
  it('a connection dropped after the reply was handed over is never resent: the case waits for a person', async () => {
    await dovecot.seed('INBOX', [sample.find((m) => m.name === '05-fitnote.eml')!.raw]);
    // The server takes the whole reply, then the connection drops before its "250 OK".
    sink.dropAfterDataNext(1);
    const result = await once();
    expect(result.code, result.stderr).toBe(0);
    const [row] = cases();
    expect(row?.status).toBe('review');
    expect(row?.note).toMatch(/delivery not confirmed/);
    expect((await once()).code).toBe(0);
    // It arrived once: no resend by the SMTP client's own retry, nor by the next pass.
    expect(sink.messages).toHaveLength(1);
  });

  it('a dropped connection: once the reply shows in the Sent folder, the next pass records it replied', async () => {
    await dovecot.seed('INBOX', [sample.find((m) => m.name === '05-fitnote.eml')!.raw]);
    sink.dropAfterDataNext(1);
    expect((await once()).code).toBe(0);
    expect(cases()[0]?.status).toBe('review');
    // Another message whose Message-ID holds the reply's (IMAP SEARCH matches substrings) is no evidence.
    const replyId = cases()[0]!.reply_message_id!;
    const decoy = `From: rivermarsh.pcnalliance@nhs.net\r\nTo: ward9@northmere.nhs.uk\r\nSubject: decoy\r\nMessage-ID: <decoy@northmere.nhs.uk> ${replyId}\r\n\r\nnot the reply\r\n`;
    expect(decoy).toContain(replyId);
    await dovecot.seed('Sent', [decoy]);
    expect((await once()).code).toBe(0);
    expect(cases()[0]?.status).toBe('review');
    await dovecot.seed('Sent', [sink.messages[0]!.raw]);
    const next = await once();
    expect(next.code, next.stderr).toBe(0);
    const db = new Database(databasePath, { readonly: true });
    const row = db.prepare('SELECT status, replied_at, note FROM cases').get() as { status: string; replied_at: number | null; note: string };
    const events = db.prepare('SELECT status, actor FROM case_events ORDER BY id').all() as Array<{ status: string; actor: string }>;
    db.close();
    expect(row.status).toBe('replied');
    // The time of the reply is when the server saved its copy (the test's real clock), not the pass's --now.
    expect(row.replied_at).toBeGreaterThan(Date.parse(NOW));
    expect(events.map((event) => event.status).slice(-2)).toEqual(['review', 'replied']);
    expect((await dovecot.list('PCN/Replied')).length).toBe(1);
    expect(sink.messages).toHaveLength(1);
  });
});

describe("after a person's decision", () => {
  it('the next pass moves the message out of the review folder to the folder of its new status', async () => {
    const dna = sample.find((m) => m.name === '04-dna.eml')!;
    const urgent = sample.find((m) => m.name === '06-urgent.eml')!;
    await dovecot.seed('INBOX', [dna.raw, urgent.raw]);
    sink.failNext(1, 550, 'Mailbox unavailable: no such user here');
    expect((await once()).code).toBe(0);
    expect(await dovecot.list('PCN/Review')).toHaveLength(2);
    const refOf = (raw: Buffer) => `PCN-${String(cases().find((row) => row.message_id === messageIdOf(raw))!.id).padStart(6, '0')}`;

    const approved = await runCli(['review', 'approve', refOf(dna.raw), '--by', 'Dr Reviewer'], env());
    expect(approved.code, approved.stderr).toBe(0);
    const rejected = await runCli(['review', 'reject', refOf(urgent.raw), '--note', 'handled by the duty doctor', '--by', 'Dr Reviewer'], env());
    expect(rejected.code, rejected.stderr).toBe(0);
    // The review commands change the case log only; the mailbox is the worker's to change.
    expect(await dovecot.list('PCN/Review')).toHaveLength(2);

    expect((await once()).code).toBe(0);
    expect(await dovecot.list('PCN/Review')).toHaveLength(0);
    expect((await dovecot.list('PCN/Replied')).map((m) => m.messageId)).toEqual([messageIdOf(dna.raw)]);
    expect((await dovecot.list('PCN/Filed')).map((m) => m.messageId)).toEqual([messageIdOf(urgent.raw)]);
    expect(sink.messages).toHaveLength(1);

    // Done once: the next pass finds nothing to move, and the idle pass stays idle.
    const idle = await once();
    expect(idle.code, idle.stderr).toBe(0);
    expect(idle.stdout).toMatch(/No new mail/);
    expect(await dovecot.list('PCN/Replied')).toHaveLength(1);
    expect(await dovecot.list('PCN/Filed')).toHaveLength(1);
  });
});

describe('dry run', () => {
  it('sends and moves nothing, logs would_reply with the rendered reply, and a later live pass still answers', async () => {
    await dovecot.seed('INBOX', sample.map((m) => m.raw));
    const dry = await once(['--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(sink.messages).toHaveLength(0);
    expect(await dovecot.list('INBOX')).toHaveLength(sample.length);
    const audit = await runCli(['audit', '--format', 'json', '--database', databasePath]);
    const records = audit.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(records.filter((r) => r.status === 'would_reply')).toHaveLength(REPLIED.length);

    const live = await once();
    expect(live.code, live.stderr).toBe(0);
    await sink.waitFor(REPLIED.length, 10_000);
    expect(sink.messages).toHaveLength(REPLIED.length);
  });

  it('a policy that logs bodies keeps each whole body, history and disclaimer included, NHS numbers masked; the example policy keeps none', async () => {
    // The parse thread leaves out of its answer the text the worker does not read, unless bodies are logged.
    const bloods = sample.find((m) => m.name === '01-bloods.eml')!.raw.toString('utf8');
    const withHistory = bloods
      .replace(/^Message-ID:.*$/m, 'Message-ID: <history-bodies@northmere.nhs.uk>')
      .replace(
        /Northmere University Hospitals NHS Trust\s*$/,
        'Northmere University Hospitals NHS Trust\n\nThis e-mail and any attachments are confidential and intended solely for the addressee.\n\n' +
          '-----Original Message-----\nFrom: Renal Clinic <renal.clinic@northmere.nhs.uk>\nSent: 12 November 2026 09:00\nSubject: Clinic list\n\nEarlier note about the renal clinic list for Thursday.\n',
      );
    await dovecot.seed('INBOX', [Buffer.from(withHistory)]);
    const loggingPolicy = path.join(workDir, 'policy-store-bodies.yaml');
    const example = fs.readFileSync(path.join(REPO_ROOT, 'config/policy.example.yaml'), 'utf8');
    expect(example).toContain('storeBodies: false');
    fs.writeFileSync(loggingPolicy, example.replace('storeBodies: false', 'storeBodies: true'));
    const storedBody = (database: string) => {
      const db = new Database(database, { readonly: true });
      try {
        return (db.prepare('SELECT body, status FROM cases WHERE message_id = ?').get('<history-bodies@northmere.nhs.uk>') as { body: string | null; status: string }) ?? null;
      } finally {
        db.close();
      }
    };

    const logged = await once(['--dry-run'], { POLICY_FILE: loggingPolicy });
    expect(logged.code, logged.stderr).toBe(0);
    const kept = storedBody(databasePath);
    expect(kept.status).toBe('would_reply');
    expect(kept.body).toContain('Could the GP practice please arrange a repeat U&E');
    expect(kept.body).toContain('intended solely for the addressee');
    expect(kept.body).toContain('Earlier note about the renal clinic list for Thursday.');
    expect(kept.body).not.toContain('999 151 3345');

    databasePath = path.join(workDir, 'default.sqlite');
    const plain = await once(['--dry-run']);
    expect(plain.code, plain.stderr).toBe(0);
    expect(storedBody(databasePath)).toEqual({ body: null, status: 'would_reply' });
  });
});

describe('the scheduled worker', () => {
  it('stops cleanly on SIGTERM during a pass: exit 0, connections closed, no case left half-sent', async () => {
    await dovecot.seed('INBOX', sample.map((m) => m.raw));
    const child = spawn(process.execPath, [CLI, 'run', '--now', NOW], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH, ...env({ SCHEDULE: '0 3 * * *' }) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    // Stop as soon as the first pass has begun.
    await expect.poll(() => stderr, { timeout: 30_000, interval: 50 }).toMatch(/pass started/);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/worker stopped/);
    const unsettled = cases().filter((c) => c.status === 'decided' || c.status === 'sending');
    expect(unsettled).toEqual([]);
    // Whatever the stopped pass did not reach, the next pass picks up: every message ends with one case.
    expect((await once()).code).toBe(0);
    expect(cases()).toHaveLength(sample.length);
    expect(new Set(sink.messages.map((m) => m.inReplyTo)).size).toBe(sink.messages.length);
  });
});
