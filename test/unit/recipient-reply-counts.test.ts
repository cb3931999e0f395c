import { describe, expect, it } from 'vitest';
import { RecipientReplyCounts } from '../../src/worker/recipient-reply-counts.js';
import { CaseStore } from '../../src/store/case-store.js';
import { openDatabase } from '../../src/store/open-database.js';

// The pass's running count must give decide() what a count over the log would give, message by message.
describe('replies per recipient within a pass', () => {
  const DAY = 86_400_000;
  const now = Date.UTC(2026, 10, 20, 9);

  function log() {
    const db = openDatabase(':memory:');
    const store = new CaseStore(db);
    const insert = db.prepare(`INSERT INTO cases (message_key, received_at, category, action, confidence, status, reasons, policy_version, policy_hash,
      created_at, updated_at, reply_to_address) VALUES (?, 0, 'blood_test_request', 'reply', 0.9, ?, '[]', 'v', 'h', ?, ?, ?)`);
    let n = 0;
    const add = (recipient: string, status: string, at = now) => Number(insert.run(`k${n++}`, status, at, at, recipient).lastInsertRowid);
    const setStatus = (id: number, status: string) => db.prepare('UPDATE cases SET status = ? WHERE id = ?').run(status, id);
    return { store, add, setStatus };
  }

  for (const dryRun of [false, true]) {
    it(`equals the log's count after every decision (${dryRun ? 'dry run' : 'live'})`, () => {
      const { store, add, setStatus } = log();
      // Before the pass: replies of the last day and older, a review, a dry-run preview.
      add('ward9@northmere.nhs.uk', 'replied', now - DAY / 2);
      add('ward9@northmere.nhs.uk', 'replied', now - 2 * DAY);
      add('ward9@northmere.nhs.uk', 'review');
      add('ward9@northmere.nhs.uk', 'would_reply');
      const counts = new RecipientReplyCounts(store, dryRun);
      const recipients = ['ward9@northmere.nhs.uk', 'clinic@staldrics.nhs.uk', 'ward9@northmere.nhs.uk'];
      for (let i = 0; i < 60; i++) {
        const recipient = recipients[i % recipients.length]!;
        for (const atMost of [5, 1_000_000]) {
          expect(counts.since(recipient, now - DAY, atMost)).toBe(store.recipientRepliesSince(recipient, now - DAY, dryRun, atMost));
        }
        // The pass decides: a reply (decided, or would_reply in a dry run), now and then one that fails to review, or a filing.
        if (i % 4 === 3) {
          add(recipient, 'filed');
          counts.logged(recipient, 'filed');
          continue;
        }
        const status = dryRun ? 'would_reply' : 'decided';
        const id = add(recipient, status);
        counts.logged(recipient, status);
        if (!dryRun && i % 7 === 0) {
          setStatus(id, 'review');
          counts.withdrawn(recipient);
        }
      }
    });
  }

  it('takes the count from the log again near the limit, where an approval made meanwhile matters', () => {
    const { store, add } = log();
    const counts = new RecipientReplyCounts(store, false);
    const ward = 'ward9@northmere.nhs.uk';
    expect(counts.since(ward, now - DAY, 3)).toBe(0);
    add(ward, 'decided');
    counts.logged(ward, 'decided');
    // A person approves a reply to the same address while the pass runs: the pass did not count it.
    add(ward, 'replied');
    expect(counts.since(ward, now - DAY, 3)).toBe(1);
    add(ward, 'decided');
    counts.logged(ward, 'decided');
    // One short of the limit by the pass's own count: the log says the limit is reached.
    expect(counts.since(ward, now - DAY, 3)).toBe(3);
  });
});
