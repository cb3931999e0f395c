import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { classify } from '../../src/core/classify.js';
import { parseMessage } from '../../src/mail/parse-message.js';
import { loadPolicyFile } from '../../src/policy/load-policy.js';
import { classifySource } from '../../src/worker/classify-source.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { policy } = loadPolicyFile(join(root, 'config/policy.example.yaml'));
const now = new Date('2026-11-20T09:00:00Z');

function emlFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? emlFiles(join(dir, entry.name)) : entry.name.endsWith('.eml') ? [join(dir, entry.name)] : [],
  );
}

// Every corpus the project has, plus the shared dev corpus where it sits beside the repository.
const files = [
  ...emlFiles(join(root, '../shared/corpus/dev')),
  ...['mail', 'holdout', 'rule-cases', 'hostile'].flatMap((name) => emlFiles(join(root, 'test/fixtures', name))),
].map((file) => relative(root, file));

describe('headers first, body only when needed', () => {
  it('covers the bundled corpora', () => {
    expect(files.length).toBeGreaterThan(60);
  });

  it.each(files)('%s: same classification as a full parse', async (file) => {
    const raw = readFileSync(join(root, file));
    const full = classify(await parseMessage(raw), policy!, now);
    const { classification, bodyRead } = await classifySource(raw, policy!, now);
    expect(classification).toEqual(full);
    // The body is skipped exactly when the header gates decide: automatic mail and unlisted senders.
    expect(bodyRead).toBe(!['auto_generated', 'non_hospital'].includes(full.category));
  });
});
