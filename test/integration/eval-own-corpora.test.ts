import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluateCorpus } from '../../src/cli/eval.js';
import { loadPolicyFile } from '../../src/policy/load-policy.js';

/**
 * The example policy on the labelled corpora that ship with the project (they need no ../shared):
 * `holdout` was written by someone who never saw the rules; `rule-cases` are the phrasings and traps
 * the rules were generalised for. The LMC's bar: no unsafe reply at all.
 */
describe.each([
  ['holdout', 0.9, 0.85],
  ['rule-cases', 0.9, 0.85],
])('example policy on test/fixtures/%s', (folder, minRecall, minAccuracy) => {
  it(`never replies unsafely, reply recall >= ${minRecall}, accuracy >= ${minAccuracy}`, async () => {
    const { policy, problems } = loadPolicyFile('config/policy.example.yaml');
    expect(problems).toEqual([]);
    const { report } = await evaluateCorpus(resolve('test/fixtures', folder), policy!);
    expect(report.unsafeReplies).toEqual([]);
    expect(report.replyRecall).toBeGreaterThanOrEqual(minRecall);
    expect(report.accuracy).toBeGreaterThanOrEqual(minAccuracy);
  });
});
