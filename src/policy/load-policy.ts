import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import { isAlias, isMap, isNode, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document } from 'yaml';
import type { z } from 'zod';
import { SAMPLE_CONTEXT } from '../reply/compile-templates.js';
import { TAXONOMY_DEFAULT_ACTION } from './default-actions.js';
import { addressPatternProblem, compileAddressPattern, escapeRegExp } from './address-pattern.js';
import { backtracksCatastrophically, nestedRepetitions } from './regex-safety.js';
import { boundingSets, LiteralTable, literalPrefixes, maxMatchLength, maxReach, mostTellingFirst, requiredLiteralSets } from './literal-prefixes.js';
import type { CompiledHospital, CompiledRule, Policy, PolicyLoadResult, PolicyProblem } from './policy.js';
import {
  CATEGORY_IDS,
  OTHER_CATEGORIES,
  REQUEST_CATEGORIES,
  policySchema,
  type PolicyData,
  type Rule,
} from './schema.js';

export interface LoadPolicyOptions {
  /** Folder holding `<name>.txt.hbs`, `<name>.html.hbs` and `partials/`. Default: the package's templates/. */
  templatesDir?: string;
}

type PathSegment = string | number;

/** The templates/ folder shipped with the package (src/policy or dist/policy -> ../../templates). */
export const DEFAULT_TEMPLATES_DIR = fileURLToPath(new URL('../../templates', import.meta.url));

/** Categories every policy must say what to do with: the classifier can always produce them. */
const REQUIRED_CATEGORIES = OTHER_CATEGORIES;
const REQUEST_SET: ReadonlySet<string> = new Set(REQUEST_CATEGORIES);

/** Read, validate and compile a policy file. Never throws: every problem is in the result. */
export function loadPolicyFile(file: string, options: LoadPolicyOptions = {}): PolicyLoadResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return {
      policy: null,
      warnings: [],
      problems: [
        {
          file,
          line: 1,
          column: 1,
          path: '',
          message: code === 'ENOENT' ? 'the policy file does not exist' : `the policy file cannot be read (${code ?? (error as Error).message})`,
          fix: 'check the path, or copy config/policy.example.yaml to config/policy.yaml and edit it',
        },
      ],
    };
  }
  return loadPolicyText(text, file, options);
}

/**
 * Validate and compile policy YAML. Stages: YAML syntax and safety (no tags, no aliases), the
 * schema, then semantic rules (ids, clauses, templates, regexes); every problem is reported with
 * its line and column so an administrator can fix them all in one go.
 */
export function loadPolicyText(text: string, file: string, options: LoadPolicyOptions = {}): PolicyLoadResult {
  const lineCounter = new LineCounter();
  // merge: false keeps `<<` an ordinary key, so we can refuse it instead of silently expanding it.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: false, uniqueKeys: true, strict: true });
  const locator = new Locator(doc, lineCounter, file);
  const problems: PolicyProblem[] = [];
  const warnings: PolicyProblem[] = [];

  problems.push(...yamlSyntaxProblems(doc, locator, lineCounter));
  problems.push(...unsafeYaml(doc, locator));
  if (problems.length > 0) return { policy: null, problems, warnings };
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    problems.push(locator.atOffset(0, '', 'the policy file is empty', 'start from config/policy.example.yaml'));
    return { policy: null, problems, warnings };
  }
  if (!isMap(doc.contents)) {
    problems.push(locator.at([], 'the policy must be a mapping of keys (policy:, identity:, hospitals: ...)', 'start from config/policy.example.yaml'));
    return { policy: null, problems, warnings };
  }

  const raw: unknown = doc.toJS({ maxAliasCount: 0 });
  const parsed = policySchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(...schemaProblems(issue, locator));
    // The semantic checks need a valid document, and on a half-valid one would mostly repeat the
    // schema's complaints; the expressions and the templates are checked anyway, each on its own,
    // so one misspelt key does not hide a broken pattern until the next round of fixes.
    const flagged = parsed.error.issues.map((issue) => formatPath(issue.path.filter((s): s is PathSegment => typeof s !== 'symbol')));
    problems.push(...standaloneProblems(raw, locator, options.templatesDir ?? DEFAULT_TEMPLATES_DIR, flagged));
    return { policy: null, problems, warnings };
  }
  const data = parsed.data;
  const templatesDir = options.templatesDir ?? DEFAULT_TEMPLATES_DIR;
  const compiled = semanticCheckAndCompile(data, locator, templatesDir, problems, warnings);
  if (problems.length > 0 || !compiled) return { policy: null, problems, warnings };
  const policy: Policy = { data, hash: policyHash(data), file, ...compiled };
  return { policy, problems, warnings };
}

/** sha256 of the canonical JSON (keys sorted at every level) of the validated data. */
export function policyHash(data: unknown): string {
  return createHash('sha256').update(canonicalJson(data)).digest('hex');
}

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/**
 * Turn a phrase into a case-insensitive RegExp source: literal characters, any run of
 * whitespace between words (letters wrap across lines), word boundaries at word-character ends
 * so "ECG" does not fire inside "ECGs-free" but "U&E" still matches "U&Es".
 */
export function phraseSource(phrase: string): string {
  const words = phrase.trim().split(/\s+/).map(escapeRegExp);
  const start = /^\w/.test(phrase.trim()) ? '\\b' : '';
  const end = /\w$/.test(phrase.trim()) ? '\\b' : '';
  return `${start}${words.join('\\s+')}${end}`;
}

// ---------------------------------------------------------------------------------------------

function unsafeYaml(doc: Document, locator: Locator): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  visit(doc, {
    Alias(_key, node) {
      problems.push(
        locator.atOffset(
          node.range?.[0] ?? 0,
          locator.pathAtOffset(node.range?.[0] ?? 0),
          `YAML alias *${node.source} is not allowed in a policy file`,
          'write the value out in full; aliases and anchors are refused because nested aliases can expand into huge documents ("billion laughs")',
        ),
      );
    },
    Pair(_key, pair) {
      if (isScalar(pair.key) && pair.key.value === '<<') {
        problems.push(
          locator.atOffset(pair.key.range?.[0] ?? 0, locator.pathAtOffset(pair.key.range?.[0] ?? 0), 'YAML merge key << is not allowed in a policy file', 'write the merged keys out in full'),
        );
      }
    },
    Node(_key, node) {
      if (isAlias(node) || !node.tag) return;
      problems.push(
        locator.atOffset(
          tagOffset(node),
          locator.pathAtOffset(tagOffset(node)),
          `YAML tag ${node.tag} is not allowed in a policy file`,
          'remove the tag (anything starting with ! or !!): a policy holds plain text, numbers, lists and mappings only, never code or references to other files',
        ),
      );
    },
  });
  return problems;
}

/**
 * The parser's errors, each placed in the field it falls in. One slip (a tab, a lost colon) makes
 * the parser stumble on the lines after it too: an error within two lines of the one before is
 * left out, and the first says so, so the administrator fixes one thing and runs the check again.
 */
function yamlSyntaxProblems(doc: Document, locator: Locator, lineCounter: LineCounter): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  let lastLine = -Infinity;
  let lastSyntax: PolicyProblem | null = null;
  let followers = 0;
  const noteFollowers = (): void => {
    if (lastSyntax && followers > 0) lastSyntax.fix += `. ${followers} more YAML error${followers === 1 ? '' : 's'} just after this line ${followers === 1 ? 'was' : 'were'} left out: such errors usually follow from this one; run the check again once it is fixed`;
  };
  for (const error of [...doc.errors].sort((a, b) => a.pos[0] - b.pos[0])) {
    const { line } = lineCounter.linePos(error.pos[0]);
    const problem = locator.atOffset(error.pos[0], locator.pathAtOffset(error.pos[0]), yamlMessage(error.code, error.message), yamlFix(error.code, error.message));
    if (error.code === 'DUPLICATE_KEY') {
      problems.push(problem);
      continue;
    }
    if (line <= lastLine + 2) {
      followers++;
      lastLine = line;
      continue;
    }
    noteFollowers();
    problems.push(problem);
    lastSyntax = problem;
    followers = 0;
    lastLine = line;
  }
  noteFollowers();
  return problems;
}

function tagOffset(node: { range?: [number, number, number] | null }): number {
  return node.range?.[0] ?? 0;
}

function yamlMessage(code: string, message: string): string {
  if (code === 'DUPLICATE_KEY') return 'the same key appears twice in one mapping';
  return `YAML syntax: ${message.split('\n')[0]}`;
}

function yamlFix(code: string, message: string): string {
  if (code === 'DUPLICATE_KEY') return 'keep one of the two entries (YAML would silently keep only one)';
  if (code === 'TAB_AS_INDENT') return 'indent with spaces, not a tab (some editors insert a tab when you press the Tab key)';
  if (code === 'MISSING_CHAR' && /quote/i.test(message)) return 'close the quote: a value that starts with \' or " must end with the same mark (inside \'single quotes\' write an apostrophe as \'\')';
  if (code === 'BAD_INDENT' || code === 'MISSING_CHAR') return 'check the indentation (spaces only, the same depth for keys of one mapping) and that each key ends with a colon';
  if (code === 'BLOCK_AS_IMPLICIT_KEY' || code === 'MULTILINE_IMPLICIT_KEY') return 'a key must fit on one line and end with a colon; check the line above for a missing colon or quote';
  return 'fix the YAML syntax at this position; quote values that contain ": " or start with special characters';
}

class Locator {
  constructor(
    private readonly doc: Document,
    private readonly lineCounter: LineCounter,
    private readonly file: string,
  ) {}

  atOffset(offset: number, path: string, message: string, fix: string): PolicyProblem {
    const { line, col } = this.lineCounter.linePos(offset);
    return { file: this.file, line, column: col, path, message, fix };
  }

  /** The field the text at `offset` belongs to (`limits.maxAgeDays`), or '' outside any (shown as "(top level)"). */
  pathAtOffset(offset: number): string {
    const path: PathSegment[] = [];
    let node: unknown = this.doc.contents;
    for (;;) {
      let inner: { segment: PathSegment; node: unknown } | null = null;
      if (isMap(node)) {
        for (const pair of node.items) {
          const start = rangeStart(pair.key);
          const end = rangeEnd(pair.value) ?? rangeEnd(pair.key);
          if (start !== undefined && end !== undefined && start <= offset && offset <= end && isScalar(pair.key)) inner = { segment: String(pair.key.value), node: pair.value };
        }
      } else if (isSeq(node)) {
        node.items.forEach((item, index) => {
          const start = rangeStart(item);
          const end = rangeEnd(item);
          if (start !== undefined && end !== undefined && start <= offset && offset <= end) inner = { segment: index, node: item };
        });
      }
      if (!inner) return path.length === 0 ? '' : formatPath(path);
      path.push((inner as { segment: PathSegment }).segment);
      node = (inner as { node: unknown }).node;
    }
  }

  /** Problem at the node for `path`; with `key`, at that key inside the mapping at `path`. */
  at(path: readonly PathSegment[], message: string, fix: string, key?: string): PolicyProblem {
    return this.atOffset(this.offsetOf(path, key), formatPath(key === undefined ? path : [...path, key]), message, fix);
  }

  private offsetOf(path: readonly PathSegment[], key?: string): number {
    let node: unknown = this.doc.contents;
    let offset = rangeStart(node) ?? 0;
    for (const segment of [...path, ...(key === undefined ? [] : [key])]) {
      if (isMap(node)) {
        const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
        if (!pair) return offset;
        const isLast = segment === key;
        offset = rangeStart(isLast ? pair.key : pair.value) ?? rangeStart(pair.key) ?? offset;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number') {
        const item = node.items[segment];
        if (item === undefined) return offset;
        offset = rangeStart(item) ?? offset;
        node = item;
      } else {
        return offset;
      }
    }
    return offset;
  }
}

function rangeStart(node: unknown): number | undefined {
  if (isPair(node)) return rangeStart(node.key);
  if (isNode(node)) return node.range?.[0];
  return undefined;
}

/** Where a node's value ends (comments after it excluded), for finding the field an offset falls in. */
function rangeEnd(node: unknown): number | undefined {
  if (isPair(node)) return rangeEnd(node.value) ?? rangeEnd(node.key);
  if (isNode(node)) return node.range?.[1];
  return undefined;
}

export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out;
}

// --- schema issues ---------------------------------------------------------------------------

type Issue = z.core.$ZodIssue;

function schemaProblems(issue: Issue, locator: Locator): PolicyProblem[] {
  const path = issue.path.filter((s): s is PathSegment => typeof s !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeysAt(path);
    const isCategoryMap = path.length === 1 && path[0] === 'categories';
    return issue.keys.map((key) => {
      const suggestion = closest(key, allowed);
      const message = isCategoryMap ? `unknown category id "${key}"` : `unknown key "${key}"`;
      const fix = [
        suggestion ? `did you mean "${suggestion}"?` : `remove "${key}" or correct its spelling.`,
        allowed.length > 0 ? `Allowed ${isCategoryMap ? 'category ids' : 'keys'} here: ${allowed.join(', ')}.` : '',
      ]
        .filter(Boolean)
        .join(' ');
      return locator.at(path, message, fix, key);
    });
  }
  const last = path[path.length - 1];
  const field = typeof last === 'string' ? last : 'this item';
  let message = issue.message;
  let fix: string;
  switch (issue.code) {
    case 'invalid_type': {
      // zod leaves the input out of issues; its message says when the value was absent.
      const missing = /received undefined/.test(issue.message);
      if (missing) {
        message = `"${field}" is missing`;
        fix = `add ${field}: (${describeType(issue.expected)})${hint(path)}`;
      } else {
        message = `expected ${describeType(issue.expected)}`;
        fix = `write ${describeType(issue.expected)} here${issue.expected === 'number' ? ', without quotes' : ''}${hint(path)}`;
      }
      break;
    }
    case 'invalid_value':
      fix = `use one of: ${issue.values.map((v) => String(v)).join(', ')}`;
      break;
    case 'too_small':
      fix =
        issue.origin === 'array'
          ? `list at least ${String(issue.minimum)} item(s)`
          : issue.origin === 'string'
            ? 'write a value; empty text is not allowed'
            : `use a value of at least ${String(issue.minimum)}`;
      break;
    case 'too_big':
      fix = `use a value of at most ${String(issue.maximum)}`;
      break;
    case 'invalid_format':
      fix =
        issue.format === 'date'
          ? 'write the date as YYYY-MM-DD, e.g. 2026-04-01 (quotes are fine)'
          : issue.format === 'email'
            ? 'write a full e-mail address, e.g. rivermarsh.pcnalliance@nhs.net'
            : `correct the value: ${issue.message}`;
      break;
    case 'invalid_key':
      fix = `use one of the taxonomy category ids: ${CATEGORY_IDS.join(', ')}`;
      break;
    default:
      fix = 'correct the value as the message says (config/policy.schema.json documents every field)';
  }
  return [locator.at(path, message, fix)];
}

function describeType(expected: string): string {
  switch (expected) {
    case 'string':
      return 'a text value';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'true or false';
    case 'array':
      return 'a list (lines starting with "- ")';
    case 'object':
      return 'a mapping of keys';
    case 'record':
      return 'a mapping of keys';
    default:
      return expected;
  }
}

function hint(path: readonly PathSegment[]): string {
  const schema = schemaAt(path);
  const description = schema?.description;
  return description ? ` - ${description}` : '';
}

interface ZodLike {
  description?: string;
  _zod: { def: Record<string, unknown> & { type: string } };
}

/** The zod schema that validates the value at `path`, or undefined. */
function schemaAt(path: readonly PathSegment[]): ZodLike | undefined {
  let schema: ZodLike | undefined = policySchema as unknown as ZodLike;
  for (const segment of path) {
    schema = unwrap(schema);
    if (!schema) return undefined;
    const def = schema._zod.def;
    if (def.type === 'object') schema = (def.shape as Record<string, ZodLike>)[String(segment)];
    else if (def.type === 'array') schema = def.element as ZodLike;
    else if (def.type === 'record') schema = def.valueType as ZodLike;
    else return undefined;
  }
  return schema;
}

function unwrap(schema: ZodLike | undefined): ZodLike | undefined {
  let current = schema;
  for (let i = 0; i < 10 && current; i++) {
    const def = current._zod.def;
    if (['optional', 'default', 'prefault', 'nullable', 'readonly', 'catch', 'nonoptional'].includes(def.type)) current = def.innerType as ZodLike;
    else if (def.type === 'pipe') current = def.in as ZodLike;
    else break;
  }
  return current;
}

function allowedKeysAt(path: readonly PathSegment[]): string[] {
  if (path.length === 1 && path[0] === 'categories') return [...CATEGORY_IDS];
  const schema = unwrap(schemaAt(path));
  if (schema?._zod.def.type !== 'object') return [];
  return Object.keys(schema._zod.def.shape as object);
}

/** The allowed key nearest to a misspelt one (edit distance at most 2, or one contains the other). */
function closest(key: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of allowed) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

// --- semantic rules ----------------------------------------------------------------------------

type Compiled = Pick<Policy, 'hospitals' | 'neverHospital' | 'categoryRules' | 'urgency' | 'sensitive' | 'literals'>;

function semanticCheckAndCompile(
  data: PolicyData,
  locator: Locator,
  templatesDir: string,
  problems: PolicyProblem[],
  warnings: PolicyProblem[],
): Compiled | null {
  const hospitals = compileHospitals(data, locator, problems);
  const neverHospital: RegExp[] = [];
  data.neverHospital.forEach((pattern, index) => {
    const problem = addressPatternProblem(pattern);
    if (problem) problems.push(locator.at(['neverHospital', index], `"${pattern}" is not an address pattern`, problem));
    else neverHospital.push(compileAddressPattern(pattern));
  });

  for (const id of REQUIRED_CATEGORIES) {
    if (!data.categories[id]) {
      problems.push(
        locator.at(['categories'], `category ${id} is not configured`, `add categories.${id} with its action (${TAXONOMY_DEFAULT_ACTION[id]} is the taxonomy default)`),
      );
    }
  }
  for (const id of REQUEST_CATEGORIES) {
    if (!data.categories[id]) {
      warnings.push(locator.at(['categories'], `request category ${id} is not configured: such messages will be classified as unclear or clinical_information`, `add categories.${id} with rules, or ignore this warning on purpose`));
    }
  }

  const literals = new LiteralTable();
  const categoryRules: Policy['categoryRules'] = {};
  for (const id of CATEGORY_IDS) {
    const category = data.categories[id];
    if (!category) continue;
    const base = ['categories', id];
    if (category.action === 'reply') {
      if (!REQUEST_SET.has(id)) {
        problems.push(
          locator.at([...base, 'action'], `${id} can never be answered automatically`, `use action ${TAXONOMY_DEFAULT_ACTION[id]}: only workload-shift request categories may reply (taxonomy.md)`),
        );
      }
      if (!category.template) {
        problems.push(locator.at(base, `category ${id} replies but names no template`, `add template: ${id.replaceAll('_', '-')} (files templates/<name>.txt.hbs and .html.hbs)`));
      } else {
        problems.push(...checkTemplates(category.template, templatesDir, locator, [...base, 'template']));
      }
    }
    if (id === 'urgent_clinical' && category.action !== 'review') {
      problems.push(locator.at([...base, 'action'], 'urgent clinical messages must go to a person', 'use action: review'));
    }
    if (id === 'unclear' && category.action !== 'review') {
      warnings.push(locator.at([...base, 'action'], 'unclear messages are not reviewed by a person', 'use action: review unless the LMC agreed otherwise'));
    }
    category.clauses.forEach((clause, index) => {
      if (!(clause in data.contract.clauses)) {
        problems.push(
          locator.at([...base, 'clauses', index], `clause "${clause}" is not defined in contract.clauses`, `add "${clause}" under contract.clauses with what it says, or correct the id (defined: ${Object.keys(data.contract.clauses).join(', ') || 'none'})`),
        );
      }
    });
    const rules = compileRules(category.rules, [...base, 'rules'], locator, problems, literals);
    const cancel = compileRules(category.cancel, [...base, 'cancel'], locator, problems, literals);
    checkDuplicateRuleIds([...category.rules.map((r, i) => ({ r, path: [...base, 'rules', i] })), ...category.cancel.map((r, i) => ({ r, path: [...base, 'cancel', i] }))], locator, problems);
    if (category.rules.length > 0 || category.cancel.length > 0) categoryRules[id] = { rules, cancel };
  }

  const urgencyRules = compileRules(data.urgency.rules, ['urgency', 'rules'], locator, problems, literals);
  const urgencyCancel = compileRules(data.urgency.cancel, ['urgency', 'cancel'], locator, problems, literals);
  checkDuplicateRuleIds(
    [...data.urgency.rules.map((r, i) => ({ r, path: ['urgency', 'rules', i] })), ...data.urgency.cancel.map((r, i) => ({ r, path: ['urgency', 'cancel', i] }))],
    locator,
    problems,
  );
  const sensitive = compileRules(data.sensitive.rules, ['sensitive', 'rules'], locator, problems, literals);
  checkDuplicateRuleIds(data.sensitive.rules.map((r, i) => ({ r, path: ['sensitive', 'rules', i] })), locator, problems);
  if (problems.length > 0) return null;
  return { hospitals, neverHospital, categoryRules, urgency: { rules: urgencyRules, cancel: urgencyCancel }, sensitive, literals: literals.build() };
}

function compileHospitals(data: PolicyData, locator: Locator, problems: PolicyProblem[]): CompiledHospital[] {
  const seenIds = new Map<string, number>();
  const seenDomains = new Map<string, string>();
  const seenPatterns = new Map<string, string>();
  return data.hospitals.map((hospital, index) => {
    const base = ['hospitals', index];
    const earlier = seenIds.get(hospital.id);
    if (earlier !== undefined) {
      problems.push(locator.at([...base, 'id'], `hospital id "${hospital.id}" is used twice (also hospitals[${earlier}])`, 'give each hospital its own id; ids go into the log and reports'));
    } else seenIds.set(hospital.id, index);
    if (hospital.domains.length === 0 && hospital.nhsmail.length === 0) {
      problems.push(locator.at(base, `hospital ${hospital.id} has no domains and no nhsmail patterns`, 'list the trust domain(s) and/or NHSmail address patterns, or no message can ever come from it'));
    }
    const domains = new Set<string>();
    hospital.domains.forEach((domain, j) => {
      const lower = domain.toLowerCase();
      if (lower === 'nhs.net' || lower === 'nhs.uk') {
        problems.push(locator.at([...base, 'domains', j], `${lower} is shared by the whole NHS, not one hospital`, 'list NHSmail addresses under nhsmail: as patterns such as northmere.*@nhs.net'));
      }
      const owner = seenDomains.get(lower);
      if (owner !== undefined && owner !== hospital.id) {
        problems.push(locator.at([...base, 'domains', j], `domain ${lower} is also listed for hospital ${owner}`, 'a domain can belong to one hospital only'));
      }
      seenDomains.set(lower, hospital.id);
      domains.add(lower);
    });
    const nhsmail: RegExp[] = [];
    hospital.nhsmail.forEach((pattern, j) => {
      const problem = addressPatternProblem(pattern);
      if (problem) {
        problems.push(locator.at([...base, 'nhsmail', j], `"${pattern}" is not an address pattern`, problem));
        return;
      }
      if (/^[*?]*@/.test(pattern)) {
        problems.push(locator.at([...base, 'nhsmail', j], `"${pattern}" would match every NHSmail user`, 'start the pattern with the trust prefix, e.g. northmere.*@nhs.net'));
        return;
      }
      const owner = seenPatterns.get(pattern.toLowerCase());
      if (owner !== undefined && owner !== hospital.id) {
        problems.push(locator.at([...base, 'nhsmail', j], `pattern ${pattern} is also listed for hospital ${owner}`, 'a pattern can belong to one hospital only'));
      }
      seenPatterns.set(pattern.toLowerCase(), hospital.id);
      nhsmail.push(compileAddressPattern(pattern));
    });
    return { hospital, domains, nhsmail };
  });
}

function compileRules(rules: readonly Rule[], base: PathSegment[], locator: Locator, problems: PolicyProblem[], literals: LiteralTable): CompiledRule[] {
  const compiled: CompiledRule[] = [];
  rules.forEach((rule, index) => {
    const path = [...base, index];
    const hasPhrase = rule.phrase !== undefined;
    const hasPattern = rule.pattern !== undefined;
    if (hasPhrase === hasPattern) {
      problems.push(
        locator.at(path, hasPhrase ? `rule ${rule.id} has both phrase and pattern` : `rule ${rule.id} has neither phrase nor pattern`, 'give each rule exactly one of phrase: (plain words) or pattern: (a regular expression)'),
      );
      return;
    }
    const source = hasPhrase ? phraseSource(rule.phrase!) : rule.pattern!;
    const problem = expressionProblem(source, rule.id, hasPhrase ? 'phrase' : 'pattern', path, locator);
    if (problem) {
      problems.push(problem);
      return;
    }
    const regex = new RegExp(source, 'i');
    const global = new RegExp(source, 'gi');
    const requiredSets = mostTellingFirst(requiredLiteralSets(source));
    const requiredIds = requiredSets.map((set) => set.map((literal) => literals.idOf(literal)));
    const reach = maxReach(source);
    const endIds = boundingSets(requiredSets).map((set) => set.map((literal) => literals.idOf(literal)));
    literals.trackLast(endIds.flat());
    compiled.push({
      id: rule.id,
      weight: rule.weight,
      in: rule.in,
      regex,
      global,
      required: usefulLiteralSets(requiredLiteralSets(source)),
      requiredIds,
      leadingIds: literalPrefixes(source)?.map((literal) => literals.idOf(literal)) ?? null,
      maxLength: maxMatchLength(source),
      reach,
      endIds,
      serial: literals.registerRule(requiredIds),
    });
  });
  return compiled;
}

/** Why a rule's expression cannot be used (does not compile, matches empty text, backtracks without end), or null. */
function expressionProblem(source: string, id: string, field: 'phrase' | 'pattern', path: PathSegment[], locator: Locator): PolicyProblem | null {
  let regex: RegExp;
  try {
    regex = new RegExp(source, 'i');
  } catch (error) {
    // V8 repeats the whole expression in its message ("Invalid regular expression: /.../i: Unterminated
    // group"); the location already says which one, so only the reason is kept.
    const reason = (error as Error).message.replace(/^Invalid regular expression: \/[\s\S]*\/[a-z]*: /, '');
    return locator.at([...path, 'pattern'], `the regular expression does not compile: ${reason}`, 'fix the expression (escape ( ) [ ] . ? * + with a backslash when you mean the character), or use phrase: for plain words');
  }
  if (regex.test('')) {
    return locator.at([...path, field], `rule ${id} matches empty text, so it would fire on every message`, 'make the expression require at least one word');
  }
  const nested = field === 'pattern' ? nestedRepetitions(source) : [];
  if (nested.length > 0 && backtracksCatastrophically(source, 'i')) {
    return locator.at(
      [...path, 'pattern'],
      `rule ${id} can take minutes or hours to give up on an ordinary sentence, because ${nested[0]} repeats something that itself repeats: the worker would stop on such a message`,
      'repeat either the inner part or the group, not both (for example ([a-z]+ ?)+ can be written [a-z ]+), or use phrase: for plain words',
    );
  }
  return null;
}

/**
 * On a document the schema refused: every rule's expression and every reply template, checked as
 * the full load would, wherever the document has them and the schema did not already complain
 * there. Nothing else can be judged until the document has the right shape.
 */
function standaloneProblems(raw: unknown, locator: Locator, templatesDir: string, flagged: readonly string[]): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  const already = (path: PathSegment[]): boolean => {
    const here = formatPath(path);
    return flagged.some((p) => p === here || p.startsWith(`${here}.`) || p.startsWith(`${here}[`));
  };
  const ruleList = (list: unknown, base: PathSegment[]): void => {
    if (!Array.isArray(list)) return;
    list.forEach((rule: unknown, index) => {
      const path = [...base, index];
      if (!isRecord(rule) || already(path)) return;
      const id = typeof rule.id === 'string' ? rule.id : `#${index + 1}`;
      const problem =
        typeof rule.pattern === 'string' && rule.phrase === undefined
          ? expressionProblem(rule.pattern, id, 'pattern', path, locator)
          : typeof rule.phrase === 'string' && rule.pattern === undefined && rule.phrase.trim() !== ''
            ? expressionProblem(phraseSource(rule.phrase), id, 'phrase', path, locator)
            : null;
      if (problem) problems.push(problem);
    });
  };
  if (!isRecord(raw)) return problems;
  if (isRecord(raw.categories)) {
    for (const [id, category] of Object.entries(raw.categories)) {
      if (!isRecord(category)) continue;
      ruleList(category.rules, ['categories', id, 'rules']);
      ruleList(category.cancel, ['categories', id, 'cancel']);
      const templatePath: PathSegment[] = ['categories', id, 'template'];
      if (typeof category.template === 'string' && !already(templatePath)) problems.push(...checkTemplates(category.template, templatesDir, locator, templatePath));
    }
  }
  for (const section of ['urgency', 'sensitive'] as const) {
    const value = raw[section];
    if (!isRecord(value)) continue;
    ruleList(value.rules, [section, 'rules']);
    ruleList(value.cancel, [section, 'cancel']);
  }
  return problems;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Keep the literal sets that are cheap to test and likely to rule a rule out: a few longish
 * words. Long lists or one-letter literals cost more String#includes calls than they save.
 */
function usefulLiteralSets(sets: string[][]): string[][] {
  return sets.filter((set) => set.length <= 4 && set.every((literal) => literal.trim().length >= 3)).sort((a, b) => a.length - b.length);
}

function checkDuplicateRuleIds(rules: Array<{ r: Rule; path: PathSegment[] }>, locator: Locator, problems: PolicyProblem[]): void {
  const seen = new Map<string, string>();
  for (const { r, path } of rules) {
    const earlier = seen.get(r.id);
    if (earlier !== undefined) {
      problems.push(locator.at([...path, 'id'], `rule id "${r.id}" is used twice (also ${earlier})`, 'give each rule its own id: decision traces name rules by id'));
    } else seen.set(r.id, formatPath(path));
  }
}

// --- templates -----------------------------------------------------------------------------

/**
 * Handlebars puts what it expected on the last line of a parse error ("Parse error on line 7:",
 * the line, a caret, "Expecting 'CLOSE', got 'EOF'"): one line with both says where and what.
 */
function handlebarsMessage(error: unknown): string {
  const lines = String((error as Error)?.message ?? error).split('\n').map((line) => line.trim()).filter(Boolean);
  const expecting = lines.length > 1 ? lines.find((line) => /^Expecting\b/.test(line)) : undefined;
  return expecting ? `${lines[0]!.replace(/:$/, '')}: ${expecting}` : lines[0] ?? 'unknown error';
}

function checkTemplates(name: string, templatesDir: string, locator: Locator, path: PathSegment[]): PolicyProblem[] {
  if (!/^[a-z0-9][a-z0-9_-]*$/i.test(name)) {
    return [locator.at(path, `template name "${name}" is not a plain name`, 'use letters, digits, - and _ only (no folders or dots): the files are templates/<name>.txt.hbs and .html.hbs')];
  }
  const problems: PolicyProblem[] = [];
  const engines = { txt: Handlebars.create(), html: Handlebars.create() };
  const partialsDir = join(templatesDir, 'partials');
  if (existsSync(partialsDir)) {
    for (const file of readdirSync(partialsDir)) {
      const match = /^(.+)\.(txt|html)\.hbs$/.exec(file);
      if (match) engines[match[2] as 'txt' | 'html'].registerPartial(match[1]!, readFileSync(join(partialsDir, file), 'utf8'));
    }
  }
  for (const kind of ['txt', 'html'] as const) {
    const file = join(templatesDir, `${name}.${kind}.hbs`);
    if (!existsSync(file)) {
      problems.push(locator.at(path, `template file ${file} is missing`, `create ${file}, or correct the template name`));
      continue;
    }
    try {
      const render = engines[kind].compile(readFileSync(file, 'utf8'), { noEscape: kind === 'txt', strict: false });
      // Render once: a missing partial or a broken helper only fails at render time.
      render(SAMPLE_CONTEXT);
    } catch (error) {
      problems.push(locator.at(path, `template ${file} does not compile: ${handlebarsMessage(error)}`, 'fix the handlebars syntax (every {{#if}} needs its {{/if}}; partials are {{> name}} from templates/partials)'));
    }
  }
  return problems;
}
