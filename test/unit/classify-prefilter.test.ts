import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { prefilteredExec } from '../../src/core/classify.js';
import { parseMessage } from '../../src/mail/parse-message.js';
import { loadPolicyFile } from '../../src/policy/load-policy.js';
import type { CompiledRule } from '../../src/policy/policy.js';

// The prefilter skips a rule's regular expression when a word every match needs is missing, and
// starts the search where a match can first begin. It must never change what the rule finds.
const root = fileURLToPath(new URL('../../', import.meta.url));
const { policy } = loadPolicyFile(join(root, 'config/policy.example.yaml'));

const rules: CompiledRule[] = [
  ...policy!.urgency.rules,
  ...policy!.urgency.cancel,
  ...Object.values(policy!.categoryRules).flatMap((set) => [...set.rules, ...set.cancel]),
  ...policy!.sensitive,
];

function emlFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? emlFiles(join(dir, entry.name)) : entry.name.endsWith('.eml') ? [join(dir, entry.name)] : [],
  );
}

async function corpusTexts(): Promise<string[]> {
  const files = [join(root, '../shared/corpus/dev'), join(root, 'test/fixtures/holdout'), join(root, 'test/fixtures/rule-cases')].flatMap(emlFiles);
  const texts: string[] = [];
  for (const file of files) {
    const message = await parseMessage(readFileSync(file));
    texts.push(message.subject, message.newText);
  }
  return texts;
}

/**
 * The same words in other cases, and with letters a lower-cased copy would turn into ASCII
 * (KELVIN SIGN to k, LATIN CAPITAL I WITH DOT to i + a combining dot) that /i without /u never
 * matches to an ASCII letter.
 */
function variants(text: string): string[] {
  return [text, text.toUpperCase(), text.replace(/k/g, '\u212a').replace(/i/g, '\u0130'), `\u0130\u0130 ${text}`];
}

describe('classifier prefilter', () => {
  it('finds exactly what each rule\'s regular expression finds', async () => {
    const texts = (await corpusTexts()).flatMap(variants);
    expect(texts.length).toBeGreaterThan(400);
    let matched = 0;
    for (const rule of rules) {
      for (const text of texts) {
        const expected = rule.regex.exec(text);
        const found = prefilteredExec(rule, text, policy!.literals);
        if (expected) matched += 1;
        expect([rule.id, found?.index, found?.[0]]).toEqual([rule.id, expected?.index, expected?.[0]]);
      }
    }
    // The comparison means something only if many rules fire on these texts.
    expect(matched).toBeGreaterThan(300);
  });
});
