import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { classify } from '../../src/core/classify.js';
import { secondRequest } from '../../src/core/decide.js';
import type { MailMessage } from '../../src/core/message.js';
import { loadPolicyFile } from '../../src/policy/load-policy.js';
import type { Policy } from '../../src/policy/policy.js';

/**
 * Letters a listed hospital could send, written while probing the example policy for wrong replies
 * (2026-11-28): held.json must never get the template (an urgent result, a decision or a task the
 * template would leave to nobody, a subject a person must handle), answered.json are near misses that
 * must still get it. Each "held" letter got the template before the rule that now holds it.
 */
interface Letter {
  id: string;
  subject: string;
  text: string;
}

const letters = (name: string): Letter[] => JSON.parse(readFileSync(`test/fixtures/letters/${name}.json`, 'utf8')) as Letter[];
const NOW = new Date('2026-11-20T09:00:00Z');
let policy: Policy;
beforeAll(() => {
  const loaded = loadPolicyFile('config/policy.example.yaml');
  if (!loaded.policy) throw new Error(JSON.stringify(loaded.problems));
  policy = loaded.policy;
});

/** What the worker would do with the letter's classification: reply, or not (the second-request hold included). */
function answered({ subject, text }: Letter): { reply: boolean; why: string } {
  const address = (a: string) => ({ name: '', address: a });
  const message: MailMessage = {
    messageId: '<letter@northmere.nhs.uk>', inReplyTo: null, references: [], date: new Date('2026-11-19T09:00:00Z'), subject,
    from: address('clinic.letters@northmere.nhs.uk'), replyTo: [], to: [address('rivermarsh.pcnalliance@nhs.net')], cc: [], returnPath: 'clinic.letters@northmere.nhs.uk',
    contentType: 'text/plain', headers: {}, text, newText: text, quotedText: '', footerText: '', attachments: [], parseProblems: [], size: 1000,
  };
  const result = classify(message, policy, NOW);
  const reply = result.action === 'reply' && secondRequest(result, policy) === null;
  return { reply, why: `${result.category}/${result.action}: ${result.reasons.map((r) => `${r.gate}:${r.rule}`).join(', ')}` };
}

describe('letters probed for wrong replies', () => {
  it.each(letters('held').map((l) => [l.id, l] as const))('%s: no automatic reply', (_id, letter) => {
    const { reply, why } = answered(letter);
    expect(reply, why).toBe(false);
  });

  it.each(letters('answered').map((l) => [l.id, l] as const))('%s: still answered', (_id, letter) => {
    const { reply, why } = answered(letter);
    expect(reply, why).toBe(true);
  });
});
