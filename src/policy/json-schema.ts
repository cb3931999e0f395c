import { z } from 'zod';
import { policySchema } from './schema.js';

/**
 * The JSON Schema of the policy file, generated from the same zod schema the loader uses, so
 * an editor (yaml-language-server) checks and completes exactly what `policy validate` accepts.
 * config/policy.schema.json is this, committed; a unit test keeps the two identical.
 */
export function policyJsonSchema(): Record<string, unknown> {
  // io: 'input' describes what a person writes (fields with defaults are optional).
  const schema = z.toJSONSchema(policySchema, { io: 'input', target: 'draft-7', unrepresentable: 'any' }) as Record<string, unknown>;
  return {
    ...schema,
    $id: 'https://github.com/pcn-autoreply/pcn-autoreply/config/policy.schema.json',
    title: 'pcn-autoreply policy',
    description: 'The LMC-approved policy of a PCN shared inbox: identity, hospitals, categories and their rules, urgency, thresholds and limits.',
  };
}

export function policyJsonSchemaText(): string {
  return `${JSON.stringify(policyJsonSchema(), null, 2)}\n`;
}
