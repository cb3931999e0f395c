import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluateCorpus } from '../../src/cli/eval.js';
import { loadPolicyFile } from '../../src/policy/load-policy.js';

// The shared labelled corpus lives beside the repository; the product never needs it.
const CORPUS = resolve('..', 'shared', 'corpus', 'dev');

describe.skipIf(!existsSync(resolve(CORPUS, 'labels.json')))('example policy on the dev corpus (../shared/corpus/dev)', () => {
  it('never replies unsafely, replies to at least 90% of requests, and gets 85% of categories right', async () => {
    const { policy, problems } = loadPolicyFile('config/policy.example.yaml');
    expect(problems).toEqual([]);
    const { report } = await evaluateCorpus(CORPUS, policy!);
    expect(report.unsafeReplies).toEqual([]);
    expect(report.replyRecall).toBeGreaterThanOrEqual(0.9);
    expect(report.accuracy).toBeGreaterThanOrEqual(0.85);
  });
});
