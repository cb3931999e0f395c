import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import type { Policy } from '../policy/policy.js';

export type TemplateFn = (context: object) => string;

/** Every reply template of the policy, compiled once at start-up (never at send time). */
export interface CompiledTemplates {
  text: Record<string, TemplateFn>;
  html: Record<string, TemplateFn>;
}

export class TemplateError extends Error {
  constructor(
    message: string,
    readonly file: string,
  ) {
    super(message);
    this.name = 'TemplateError';
  }
}

/**
 * Compile the templates the policy names, with the partials in templates/partials. Plain-text
 * templates are compiled with noEscape (no HTML entities in a text/plain part); HTML templates
 * escape every value, so nothing a hospital wrote can inject markup into our reply.
 * Each template is also rendered once with sample values so a helper or partial that only fails
 * at render time is caught here, not when a reply is due.
 */
export function compileTemplates(templatesDir: string, policy: Policy): CompiledTemplates {
  const textEngine = Handlebars.create();
  const htmlEngine = Handlebars.create();
  registerPartials(textEngine, htmlEngine, join(templatesDir, 'partials'));
  const compiled: CompiledTemplates = { text: {}, html: {} };
  for (const name of templateNames(policy)) {
    for (const kind of ['text', 'html'] as const) {
      const file = join(templatesDir, `${name}.${kind === 'text' ? 'txt' : 'html'}.hbs`);
      if (!existsSync(file)) throw new TemplateError(`template file ${file} is missing`, file);
      const engine = kind === 'text' ? textEngine : htmlEngine;
      try {
        const fn = engine.compile(readFileSync(file, 'utf8'), { noEscape: kind === 'text', strict: false });
        fn(SAMPLE_CONTEXT);
        compiled[kind][name] = fn;
      } catch (error) {
        throw new TemplateError(`template ${file} does not compile: ${(error as Error).message}`, file);
      }
    }
  }
  return compiled;
}

export function templateNames(policy: Policy): string[] {
  const names = new Set<string>();
  for (const category of Object.values(policy.data.categories)) {
    if (category?.action === 'reply' && category.template) names.add(category.template);
  }
  return [...names];
}

function registerPartials(textEngine: typeof Handlebars, htmlEngine: typeof Handlebars, dir: string): void {
  if (!existsSync(dir)) return;
  for (const file of readdirSync(dir)) {
    const match = /^(.+)\.(txt|html)\.hbs$/.exec(file);
    if (!match) continue;
    const source = readFileSync(join(dir, file), 'utf8');
    (match[2] === 'txt' ? textEngine : htmlEngine).registerPartial(match[1]!, source);
  }
}

/** Values shaped like the real render context, for the start-up check. */
export const SAMPLE_CONTEXT = {
  alliance: 'Sample PCN Alliance',
  pcns: ['Sample PCN'],
  lmc: 'Sample LMC',
  urgentLine: '01632 960000',
  signature: 'Sample PCN Alliance',
  mailbox: 'sample@nhs.net',
  caseRef: 'PCN-000001',
  hospital: 'Sample Hospitals NHS Trust',
  senderName: 'Sample Sender',
  category: 'blood_test_request',
  categoryDescription: 'arrange blood tests',
  contract: { name: 'NHS Standard Contract', year: '2025/26' },
  clauses: [{ id: 'SC8.4', text: 'Sample clause.' }],
  original: { subject: 'Sample subject', date: '1 January 2026', quote: 'Sample quote.' },
  policyVersion: '1',
};
