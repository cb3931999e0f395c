import { describe, expect, it } from 'vitest';
import { formatCaseTrace } from '../../src/report/case-trace.js';
import type { CaseRow } from '../../src/store/case-store.js';

// 9434765919 passes the NHS number's modulus-11 check: as a run of digits inside an Outlook
// Message-ID it is no patient's, and as the words of a subject it may be one.
const OUTLOOK_ID = '<LO2P265MB9434765919AB@LO2P265MB5196.GBRP265.PROD.OUTLOOK.COM>';
const THREAD_ID = '<CWLP123MB9434765919CD@CWLP123MB0001.GBRP123.PROD.OUTLOOK.COM>';

function caseRow(overrides: Partial<CaseRow> = {}): CaseRow {
  return {
    id: 42,
    message_key: 'k42',
    message_id: OUTLOOK_ID,
    mailbox: 'INBOX',
    uid_validity: '1',
    uid: 42,
    received_at: Date.parse('2026-11-20T09:00:00Z'),
    from_address: 'clinic@northmere.nhs.uk',
    from_name: 'Clinic',
    organisation_id: 'northmere',
    organisation: 'Northmere University Hospitals NHS Trust',
    subject: 'Bloods for 943 476 5919 please',
    excerpt: null,
    body: null,
    category: 'blood_test_request',
    action: 'reply',
    confidence: 0.9,
    autonomy: 'auto',
    status: 'replied',
    dry_run: 0,
    urgent: 0,
    reasons: JSON.stringify([{ gate: 'category', rule: 'arrange-bloods', detail: 'asks for bloods', matched: 'bloods for 943 476 5919', where: 'body' }]),
    trace: JSON.stringify({ headers: { messageId: OUTLOOK_ID, inReplyTo: THREAD_ID, from: 'clinic@northmere.nhs.uk' } }),
    policy_version: '2026.1',
    policy_hash: 'abc',
    thread_key: THREAD_ID,
    reply_to_address: 'clinic@northmere.nhs.uk',
    reply_message_id: '<pcn-autoreply.PCN-000042.9434765919@nhs.net>',
    reply_subject: 'RE: Bloods for 943 *** **** please',
    reply_text: 'Dear colleague, re 943 476 5919',
    reply_html: null,
    smtp_response: '250 ok',
    note: null,
    created_at: 0,
    updated_at: 0,
    replied_at: Date.parse('2026-11-20T09:01:00Z'),
    purged_at: null,
    refile_from: null,
    to_person: null,
    ...overrides,
  };
}

describe('why: the story of one case', () => {
  const trace = formatCaseTrace(caseRow(), []);

  it('shows Message-IDs as they are, so the officer can find the mail, even when ten of their digits look like an NHS number', () => {
    expect(trace).toContain(`  message-id:    ${OUTLOOK_ID}\n`);
    expect(trace).toContain(`  messageId: ${OUTLOOK_ID}\n`);
    expect(trace).toContain(`  inReplyTo: ${THREAD_ID}\n`);
    expect(trace).toContain('  message-id:  <pcn-autoreply.PCN-000042.9434765919@nhs.net>\n');
  });

  it('still masks the NHS number wherever it is text: the subject, the matched words, the reply', () => {
    expect(trace).toContain('  subject:       Bloods for 943 *** **** please\n');
    expect(trace).toContain('matched "bloods for 943 *** ****"');
    expect(trace).toContain('    Dear colleague, re 943 *** ****\n');
    expect(trace.replace(/<[^>]*>/g, '')).not.toMatch(/476.?5919/);
  });
});
