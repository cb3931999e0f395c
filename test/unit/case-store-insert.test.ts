import { describe, expect, it } from 'vitest';
import { CaseStore, REPLY_RENDERED, type NewCase, type ReplyFields } from '../../src/store/case-store.js';
import { openDatabase } from '../../src/store/open-database.js';

// insert() passes its values by position: every field must land in its own column. Each field gets a
// value no other field has, so two swapped arguments cannot both look right.
describe('CaseStore.insert', () => {
  const newCase: NewCase = {
    messageKey: 'key-1',
    messageId: '<m1@northmere.nhs.uk>',
    mailbox: 'imap://inbox@127.0.0.1:993/INBOX',
    uidValidity: '777',
    uid: 42,
    receivedAt: 1_763_629_200_000,
    fromAddress: 'ward9@northmere.nhs.uk',
    fromName: 'Ward 9',
    organisationId: 'northmere',
    organisation: 'Northmere Hospitals NHS Trust',
    subject: 'Bloods please',
    excerpt: 'Please arrange bloods',
    body: 'Please arrange bloods for this patient.',
    category: 'blood_test_request',
    action: 'reply',
    confidence: 0.875,
    autonomy: 'auto',
    status: 'would_reply',
    dryRun: true,
    urgent: false,
    reasons: [{ gate: 'category', rule: 'blood_test_request.phrase', detail: 'asks for bloods', matched: 'arrange bloods', where: 'body' }],
    trace: { scores: { blood_test_request: 0.875 } },
    policyVersion: '2026.1',
    policyHash: 'abc123',
    threadKey: '<m0@northmere.nhs.uk>',
    replyToAddress: 'ward9.replies@northmere.nhs.uk',
    toPerson: 'thresholds.secondRequest',
  };

  it('stores every field in its own column, and its first event', () => {
    const store = new CaseStore(openDatabase(':memory:'));
    const now = 1_763_640_000_000;
    const id = store.insert(newCase, now, 'worker');
    const row = store.get(id)!;
    expect(row).toMatchObject({
      message_key: 'key-1',
      message_id: '<m1@northmere.nhs.uk>',
      mailbox: 'imap://inbox@127.0.0.1:993/INBOX',
      uid_validity: '777',
      uid: 42,
      received_at: 1_763_629_200_000,
      from_address: 'ward9@northmere.nhs.uk',
      from_name: 'Ward 9',
      organisation_id: 'northmere',
      organisation: 'Northmere Hospitals NHS Trust',
      subject: 'Bloods please',
      excerpt: 'Please arrange bloods',
      body: 'Please arrange bloods for this patient.',
      category: 'blood_test_request',
      action: 'reply',
      confidence: 0.875,
      autonomy: 'auto',
      status: 'would_reply',
      dry_run: 1,
      urgent: 0,
      policy_version: '2026.1',
      policy_hash: 'abc123',
      thread_key: '<m0@northmere.nhs.uk>',
      reply_to_address: 'ward9.replies@northmere.nhs.uk',
      to_person: 'thresholds.secondRequest',
      created_at: now,
      updated_at: now,
      replied_at: null,
    });
    expect(JSON.parse(row.reasons)).toEqual(newCase.reasons);
    expect(JSON.parse(row.trace!)).toEqual(newCase.trace);
    expect(store.events(id)).toEqual([{ at: now, status: 'would_reply', actor: 'worker', note: null }]);
  });

  it('stores the flags and the empty values as they are', () => {
    const store = new CaseStore(openDatabase(':memory:'));
    const id = store.insert({ ...newCase, messageKey: 'key-2', dryRun: false, urgent: true, messageId: null, body: null, autonomy: null, replyToAddress: null, toPerson: null }, 1, 'worker');
    expect(store.get(id)).toMatchObject({ dry_run: 0, urgent: 1, message_id: null, body: null, autonomy: null, reply_to_address: null, to_person: null });
  });

  const reply = {
    replyToAddress: 'ward9.replies@northmere.nhs.uk',
    replyMessageId: '<pcn-autoreply.PCN-000002.a1b2c3@rivermarsh.nhs.uk>',
    replySubject: 'Re: Bloods please',
    replyText: 'Please arrange this at the hospital end. Ref PCN-000002',
    replyHtml: '<p>Please arrange this at the hospital end. Ref PCN-000002</p>',
  };

  it('a case inserted with its reply reads exactly as one inserted and then given the reply', () => {
    const now = 1_763_640_000_000;
    const twoSteps = new CaseStore(openDatabase(':memory:'));
    const oneStep = new CaseStore(openDatabase(':memory:'));
    for (const store of [twoSteps, oneStep]) store.insert({ ...newCase, messageKey: 'earlier' }, now - 1, 'worker');
    const first = twoSteps.insert(newCase, now, 'worker');
    twoSteps.transition(first, 'would_reply', now, { actor: 'worker', note: REPLY_RENDERED, reply });
    const renderedFor: number[] = [];
    const second = oneStep.insertWithReply({ ...newCase, replyToAddress: 'someone.else@northmere.nhs.uk' }, now, 'worker', (id) => {
      renderedFor.push(id);
      return reply;
    });
    expect(renderedFor).toEqual([second]);
    expect(second).toBe(2);
    expect(oneStep.get(second)).toEqual(twoSteps.get(first));
    expect(oneStep.events(second)).toEqual(twoSteps.events(first));
    expect(oneStep.get(second)).toMatchObject({ reply_to_address: reply.replyToAddress, reply_message_id: reply.replyMessageId, reply_text: reply.replyText, note: REPLY_RENDERED });
  });

  it('a reply that cannot be rendered: the case is still logged, without a reply, and the error comes out', () => {
    const store = new CaseStore(openDatabase(':memory:'));
    expect(() =>
      store.insertWithReply(newCase, 5, 'worker', () => {
        throw new Error('template failed');
      }),
    ).toThrow('template failed');
    const row = store.findByMessageKey('key-1')!;
    expect(row).toMatchObject({ status: 'would_reply', reply_message_id: null, reply_text: null, note: null });
    expect(store.events(row.id)).toEqual([{ at: 5, status: 'would_reply', actor: 'worker', note: null }]);
  });

  it("inside an open transaction (the worker's batch) it writes the same, and a render failure still logs the case", () => {
    const now = 1_763_640_000_000;
    const alone = new CaseStore(openDatabase(':memory:'));
    const inBatch = new CaseStore(openDatabase(':memory:'));
    const alsoFailing = { ...newCase, messageKey: 'key-2' };
    const failing = (): ReplyFields => {
      throw new Error('template failed');
    };
    const ids = [alone, inBatch].map((store) => {
      if (store === inBatch) store.db.exec('BEGIN');
      const id = store.insertWithReply(newCase, now, 'worker', () => reply);
      expect(() => store.insertWithReply(alsoFailing, now, 'worker', failing)).toThrow('template failed');
      if (store === inBatch) store.db.exec('COMMIT');
      return id;
    });
    expect(inBatch.get(ids[1]!)).toEqual(alone.get(ids[0]!));
    expect(inBatch.events(ids[1]!)).toEqual(alone.events(ids[0]!));
    expect(inBatch.findByMessageKey('key-2')).toEqual(alone.findByMessageKey('key-2'));
    expect(inBatch.findByMessageKey('key-2')).toMatchObject({ reply_text: null });
  });

  it('a case whose events cannot be written is not left behind, and the batch goes on', () => {
    for (const inBatch of [false, true]) {
      const store = new CaseStore(openDatabase(':memory:'));
      store.db.exec(`CREATE TRIGGER refuse_rendered BEFORE INSERT ON case_events WHEN NEW.note = '${REPLY_RENDERED}' BEGIN SELECT RAISE(ABORT, 'disk trouble'); END`);
      if (inBatch) store.db.exec('BEGIN');
      const before = store.insert({ ...newCase, messageKey: 'before' }, 1, 'worker');
      expect(() => store.insertWithReply(newCase, 2, 'worker', () => reply)).toThrow('disk trouble');
      if (inBatch) store.db.exec('COMMIT');
      expect(store.findByMessageKey('key-1')).toBeUndefined();
      expect(store.db.prepare('SELECT count(*) FROM cases').pluck().get()).toBe(1);
      expect(store.db.prepare('SELECT count(*) FROM case_events WHERE case_id <> ?').pluck().get(before)).toBe(0);
      expect(store.get(before)).toMatchObject({ message_key: 'before' });
    }
  });

  it('transitions inside an open transaction write what they write alone, and refuse alike', () => {
    const stores = [false, true].map((inBatch) => {
      const store = new CaseStore(openDatabase(':memory:'));
      const id = store.insert({ ...newCase, status: 'decided', dryRun: false }, 1, 'worker');
      const other = store.insertWithReply({ ...newCase, messageKey: 'key-2', status: 'decided', dryRun: false }, 1, 'worker', () => reply);
      if (inBatch) store.db.exec('BEGIN');
      const moves = [
        store.transition(id, 'sending', 2, { actor: 'worker', from: ['decided'] }),
        store.transition(id, 'sending', 3, { actor: 'worker', from: ['decided'] }), // no longer decided
        store.transition(id, 'replied', 4, { actor: 'worker', from: ['sending'], smtpResponse: '250 OK', repliedAt: 4, note: null }),
        store.transition(999, 'review', 5, { actor: 'worker' }), // no such case
        store.transition(id, 'review', 6, { actor: 'a person', note: 'checked', extraReasons: [{ gate: 'threshold', rule: 'manual', detail: 'checked by hand' }] }),
      ];
      // Giving it the other case's reply breaks the unique Message-ID: the move fails whole.
      expect(() => store.transition(id, 'decided', 7, { actor: 'worker', reply: { ...reply } })).toThrow(/UNIQUE/);
      if (inBatch) store.db.exec('COMMIT');
      return { moves, row: store.get(id), events: store.events(id), other: store.events(other), count: store.db.prepare('SELECT count(*) FROM case_events').pluck().get() };
    });
    expect(stores[0]!.moves).toEqual([true, false, true, false, true]);
    expect(stores[1]).toEqual(stores[0]);
    expect(stores[1]!.events.map((e) => e.status)).toEqual(['decided', 'sending', 'replied', 'review']);
    expect(stores[1]!.row).toMatchObject({ status: 'review', note: 'checked', replied_at: 4, smtp_response: '250 OK' });
  });

  it('a case that reaches a person later keeps why: the first route is the one counted, on one path and the other', () => {
    for (const inBatch of [false, true]) {
      const store = new CaseStore(openDatabase(':memory:'));
      const unconfirmed = store.insert({ ...newCase, messageKey: 'a', status: 'sending', dryRun: false, toPerson: null }, 1, 'worker');
      const stopped = store.insert({ ...newCase, messageKey: 'b', status: 'decided', dryRun: false, toPerson: null }, 1, 'worker');
      const held = store.insert({ ...newCase, messageKey: 'c', status: 'review', dryRun: false, toPerson: 'thresholds.secondRequest' }, 1, 'worker');
      const answered = store.insert({ ...newCase, messageKey: 'd', status: 'sending', dryRun: false, toPerson: null }, 1, 'worker');
      if (inBatch) store.db.exec('BEGIN');
      store.transition(unconfirmed, 'review', 2, { actor: 'worker', from: ['sending'], extraReasons: [{ gate: 'threshold', rule: 'smtp.unconfirmed', detail: 'not confirmed' }] });
      store.transition(stopped, 'review', 2, { actor: 'worker', from: ['decided'], note: 'no reply was rendered before the worker stopped' });
      store.transition(held, 'awaiting_approval', 2, { actor: 'a person' });
      store.transition(held, 'review', 3, { actor: 'worker', extraReasons: [{ gate: 'threshold', rule: 'smtp.unconfirmed', detail: 'not confirmed' }] });
      store.transition(held, 'replied', 4, { actor: 'worker', repliedAt: 4 });
      store.transition(answered, 'replied', 2, { actor: 'worker', from: ['sending'], repliedAt: 2 });
      if (inBatch) store.db.exec('COMMIT');
      expect([unconfirmed, stopped, held, answered].map((id) => store.get(id)!.to_person), `in a batch: ${inBatch}`).toEqual(['smtp.unconfirmed', 'other', 'thresholds.secondRequest', null]);
    }
  });
});
