import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { policyJsonSchemaText } from '../../src/policy/json-schema.js';

describe('config/policy.schema.json', () => {
  it('is exactly what the zod schema generates (regenerate: pcn-autoreply policy schema > config/policy.schema.json)', () => {
    expect(readFileSync('config/policy.schema.json', 'utf8')).toBe(policyJsonSchemaText());
  });

  it('is referenced from the first line of the example policy', () => {
    expect(readFileSync('config/policy.example.yaml', 'utf8').split('\n')[0]).toBe('# yaml-language-server: $schema=./policy.schema.json');
  });
});
