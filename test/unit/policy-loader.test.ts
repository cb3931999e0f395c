import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { canonicalJson, loadPolicyFile, loadPolicyText, phraseSource } from '../../src/policy/load-policy.js';
import { compileAddressPattern } from '../../src/policy/address-pattern.js';
import type { PolicyProblem } from '../../src/policy/policy.js';

const EXAMPLE = 'config/policy.example.yaml';
const exampleText = readFileSync(EXAMPLE, 'utf8');
const fixture = (name: string): string => join('test/fixtures/policy', name);

/** The example with one piece of text replaced: each case breaks exactly one thing. */
function mutated(from: string | RegExp, to: string): string {
  const text = exampleText.replace(from, to);
  if (text === exampleText) throw new Error(`mutation did not apply: ${String(from)}`);
  return text;
}

function withoutCategory(id: string): string {
  const data = parse(exampleText) as { categories: Record<string, unknown> };
  delete data.categories[id];
  return stringify(data);
}

function problemsOf(text: string, options = {}): PolicyProblem[] {
  return loadPolicyText(text, 'policy.yaml', options).problems;
}

describe('loadPolicyFile on the example', () => {
  it('accepts config/policy.example.yaml with no problems or warnings', () => {
    const result = loadPolicyFile(EXAMPLE);
    expect(result.problems).toEqual([]);
    expect(result.warnings).toEqual([]);
    expect(result.policy?.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(result.policy?.hospitals.map((h) => h.hospital.id)).toEqual(['northmere', 'staldrics', 'eastfield']);
  });

  it('gives the same hash whatever the key order and comments', () => {
    const a = loadPolicyText(exampleText, 'a.yaml').policy!;
    const reordered = exampleText.replace('  version: "2026.1"\n  approvedBy: Rivermarsh LMC secretariat (demo)\n', '  approvedBy: Rivermarsh LMC secretariat (demo)  # moved\n  version: "2026.1"\n');
    expect(reordered).not.toBe(exampleText);
    const b = loadPolicyText(reordered, 'b.yaml').policy!;
    expect(b.hash).toBe(a.hash);
    const changed = loadPolicyText(exampleText.replace('version: "2026.1"', 'version: "2026.2"'), 'c.yaml').policy!;
    expect(changed.hash).not.toBe(a.hash);
  });

  it('writes canonical JSON with sorted keys', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }], e: undefined })).toBe('{"a":[{"c":3,"d":2}],"b":1}');
  });
});

describe('policy problems: every one located with path, message and fix', () => {
  it.each([
    ['unknown key', mutated('  lmc: Rivermarsh LMC\n', '  lmc: Rivermarsh LMC\n  lcm: typo\n'), 'identity.lcm', /unknown key "lcm"/],
    ['unknown category id', mutated('  auto_generated:\n', '  blood_tests:\n    action: file\n  auto_generated:\n'), 'categories.blood_tests', /unknown category id/],
    ['wrong type', mutated('  minScore: 3\n', '  minScore: three\n'), 'thresholds.minScore', /expected a number/],
    ['bad enum value', mutated('  non_hospital:\n    action: file', '  non_hospital:\n    action: delete'), 'categories.non_hospital.action', /Invalid option|invalid/i],
    ['missing required field', mutated('  approvedBy: Rivermarsh LMC secretariat (demo)\n', ''), 'policy.approvedBy', /missing/],
    ['bad date', mutated('approvedOn: "2026-01-05"', 'approvedOn: "5 Jan 2026"'), 'policy.approvedOn', /date/i],
    ['duplicate hospital id', mutated('  - id: staldrics\n', '  - id: northmere\n'), 'hospitals[1].id', /used twice/],
    ['duplicate rule id', mutated('      - id: blood-test-words\n', '      - id: arrange-bloods\n'), 'categories.blood_test_request.rules[2].id', /used twice/],
    ['regex that does not compile', mutated("pattern: '\\b(blood tests?|bloods|phlebotomy", "pattern: '\\b((blood tests?|bloods|phlebotomy"), 'categories.blood_test_request.rules[2].pattern', /does not compile/],
    ['sensitive-subject regex that does not compile', mutated("pattern: '\\b(formal complaint", "pattern: '\\b((formal complaint"), 'sensitive.rules[1].pattern', /does not compile/],
    ['duplicate sensitive rule id', mutated('    - id: legal\n', '    - id: death\n'), 'sensitive.rules[5].id', /used twice/],
    ['rule with both phrase and pattern', mutated('      - id: off-work\n', '      - id: off-work\n        phrase: off sick\n'), 'categories.fit_note_request.rules[2]', /both phrase and pattern/],
    ['rule with neither phrase nor pattern', mutated('      - id: amber-drug\n        pattern:', '      - id: amber-drug\n        description_not_pattern:'), 'categories.shared_care_request.rules[3].description_not_pattern', /unknown key/],
    ['reply category without template', mutated('    template: fit-note-request\n', ''), 'categories.fit_note_request', /names no template/],
    ['template file missing', mutated('template: fit-note-request', 'template: no-such-template'), 'categories.fit_note_request.template', /is missing/],
    ['clause not defined', mutated('clauses: [SC8.4]', 'clauses: [SC99.9]'), 'categories.onward_referral_request.clauses[0]', /not defined in contract.clauses/],
    ['urgent_clinical set to reply', mutated('  urgent_clinical:\n    action: review', '  urgent_clinical:\n    action: reply\n    template: blood-test-request'), 'categories.urgent_clinical.action', /never be answered automatically/],
    ['auto_generated set to reply', mutated('  auto_generated:\n    action: ignore', '  auto_generated:\n    action: reply\n    template: blood-test-request'), 'categories.auto_generated.action', /never be answered automatically/],
    ['non_hospital set to reply', mutated('  non_hospital:\n    action: file', '  non_hospital:\n    action: reply\n    template: blood-test-request'), 'categories.non_hospital.action', /never be answered automatically/],
    ['required category missing', withoutCategory('unclear'), 'categories', /category unclear is not configured/],
    ['bad address pattern', mutated('  - "gp.*@nhs.net"', '  - "gp.*@*.net"'), 'neverHospital[5]', /not an address pattern/],
    ['NHSmail pattern matching everyone', mutated('nhsmail: ["eastfield.*@nhs.net"]', 'nhsmail: ["*@nhs.net"]'), 'hospitals[2].nhsmail', /every NHSmail user|must look like/],
    ['regex that backtracks for hours', mutated("pattern: '\\b(blood tests?|bloods|phlebotomy|U\\s?&\\s?Es?|FBCs?|LFTs?|TFTs?)\\b'", "pattern: '(\\w+\\s?)+bloods!'"), 'categories.blood_test_request.rules[2].pattern', /can take minutes or hours .* \(\\w\+\\s\?\)\+ repeats/],
    ['regex matching empty text', mutated("pattern: '\\b(blood tests?|bloods|phlebotomy|U\\s?&\\s?Es?|FBCs?|LFTs?|TFTs?)\\b'", "pattern: '(bloods)?'"), 'categories.blood_test_request.rules[2].pattern', /matches empty text/],
  ])('%s', (_name, text, path, message) => {
    const problems = problemsOf(text);
    const problem = problems.find((p) => p.path.startsWith(path) && message.test(p.message));
    expect(problem, JSON.stringify(problems, null, 1)).toBeDefined();
    expect(problem!.line).toBeGreaterThan(1);
    expect(problem!.column).toBeGreaterThan(0);
    expect(problem!.fix.length).toBeGreaterThan(10);
  });

  it('reports every problem at once, not just the first', () => {
    const text = mutated('  minScore: 3\n', '  minScore: three\n').replace('  lmc: Rivermarsh LMC\n', '  lmc: Rivermarsh LMC\n  lcm: typo\n');
    const paths = problemsOf(text).map((p) => p.path);
    expect(paths).toEqual(expect.arrayContaining(['thresholds.minScore', 'identity.lcm']));
  });

  it('points the unknown key at its own line and suggests the spelling', () => {
    const text = mutated('  lmc: Rivermarsh LMC\n', '  lmc: Rivermarsh LMC\n  urgentLnie: 01632 960001\n');
    const [problem] = problemsOf(text).filter((p) => p.path === 'identity.urgentLnie');
    const line = text.split('\n').findIndex((l) => l.includes('urgentLnie')) + 1;
    expect(problem).toMatchObject({ line, column: 3 });
    expect(problem!.fix).toContain('did you mean "urgentLine"');
  });

  it('reports a template that does not compile, with what handlebars expected', () => {
    const problems = problemsOf(exampleText, { templatesDir: fixture('templates-broken') });
    const problem = problems.find((p) => /blood-test-request\.txt\.hbs does not compile/.test(p.message));
    expect(problem?.message).toMatch(/Parse error on line \d+: Expecting .*, got 'EOF'$/);
  });

  it('names the reason a pattern does not compile, not the whole expression again', () => {
    const [problem] = problemsOf(mutated("pattern: '\\b(formal complaint", "pattern: '\\b((formal complaint")).filter((p) => p.path === 'sensitive.rules[1].pattern');
    expect(problem?.message).toBe('the regular expression does not compile: Unterminated group');
  });

  it('a misspelt key does not hide a broken pattern or a missing template until the next round', () => {
    const text = mutated('    autonomy: auto\n', '    autonomoy: auto\n')
      .replace("pattern: '\\b(formal complaint", "pattern: '\\b((formal complaint")
      .replace('template: fit-note-request', 'template: fitnote');
    const problems = problemsOf(text);
    expect(problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      expect.stringMatching(/^categories\.\w+\.autonomoy: unknown key "autonomoy"$/),
      expect.stringMatching(/^categories\.fit_note_request\.template: template file .*fitnote\.txt\.hbs is missing$/),
      expect.stringMatching(/^categories\.fit_note_request\.template: template file .*fitnote\.html\.hbs is missing$/),
      'sensitive.rules[1].pattern: the regular expression does not compile: Unterminated group',
    ]);
    for (const problem of problems) expect(problem.line, problem.path).toBeGreaterThan(1);
  });

  it('a rule the schema already refused is not reported twice', () => {
    const text = mutated("      - id: amber-drug\n        pattern: '", "      - id: amber-drug\n        wieght: 2\n        pattern: '((");
    const problems = problemsOf(text).filter((p) => p.path.startsWith('categories.shared_care_request.rules[3]'));
    expect(problems.map((p) => p.message)).toEqual(['unknown key "wieght"']);
  });
});

describe('YAML that is unsafe or broken is refused', () => {
  it.each([
    ['malformed.yaml', /YAML syntax/],
    ['evil.yaml', /YAML tag .* is not allowed/],
    ['billion-laughs.yaml', /alias \*a is not allowed/],
    ['duplicate-key.yaml', /same key appears twice/],
    ['empty.yaml', /empty/],
  ])('%s', (name, message) => {
    const result = loadPolicyFile(fixture(name));
    expect(result.policy).toBeNull();
    const problem = result.problems.find((p) => message.test(p.message));
    expect(problem, JSON.stringify(result.problems, null, 1)).toBeDefined();
    expect(problem!.file).toBe(fixture(name));
    expect(problem!.line).toBeGreaterThan(0);
  });

  it('a tab used as indentation: one problem, in the field it is in, saying so, not a cascade of parser errors', () => {
    const text = mutated('  maxAgeDays: 14\n', '\tmaxAgeDays: 14\n');
    const problems = problemsOf(text);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ line: text.split('\n').findIndex((l) => l.startsWith('\tmaxAgeDays')) + 1, path: 'limits' });
    expect(problems[0]!.message).toMatch(/Tabs are not allowed/);
    expect(problems[0]!.fix).toMatch(/^indent with spaces, not a tab .*\. \d+ more YAML errors? just after this line (was|were) left out/);
  });

  it('two slips far apart are both reported, each in its own field', () => {
    const text = mutated("  lmc: Rivermarsh LMC\n", "  lmc: 'Rivermarsh LMC\n").replace('  maxAgeDays: 14\n', '\tmaxAgeDays: 14\n');
    const problems = problemsOf(text);
    expect(problems.map((p) => p.path)).toEqual(['identity.lmc', 'limits']);
    expect(problems[0]!.fix).toMatch(/^close the quote/);
  });

  it('refuses both tags in evil.yaml and never runs them', () => {
    const tags = loadPolicyFile(fixture('evil.yaml')).problems.filter((p) => /tag/.test(p.message));
    expect(tags.map((p) => p.line)).toEqual([3, 4]);
    expect(tags.map((p) => p.path)).toEqual(['policy.version', 'policy.approvedBy']);
  });

  it('refuses merge keys', () => {
    expect(loadPolicyFile(fixture('billion-laughs.yaml')).problems.some((p) => /merge key/.test(p.message))).toBe(true);
  });

  it('reports a missing file as a problem, not an exception', () => {
    const result = loadPolicyFile(fixture('no-such-file.yaml'));
    expect(result.problems[0]?.message).toMatch(/does not exist/);
  });
});

describe('phrases and address patterns', () => {
  it.each([
    ['please arrange', 'Could you please\n  arrange bloods', true],
    ['U&E', 'a repeat U&E in 2 weeks', true],
    ['ECG', 'ECGs were done', false],
    ['fit note', 'FIT NOTE please', true],
    ['fit note', 'outfit notes', false],
  ])('phrase %j in %j -> %s', (phrase, text, expected) => {
    expect(new RegExp(phraseSource(phrase), 'i').test(text)).toBe(expected);
  });

  it.each([
    ['northmere.*@nhs.net', 'northmere.renal@nhs.net', true],
    ['northmere.*@nhs.net', 'NORTHMERE.Renal@NHS.NET', true],
    ['northmere.*@nhs.net', 'northmereroad.surgery@nhs.net', false],
    ['northmere.*@nhs.net', 'northmere.renal@nhs.net.evil.com', false],
    ['northmere.*@nhs.net', 'xnorthmere.renal@nhs.net', false],
    ['pharmacy.f?????@nhs.net', 'pharmacy.fq3t72@nhs.net', true],
    ['pharmacy.f?????@nhs.net', 'pharmacy.fq3t7@nhs.net', false],
    ['@rivermarsh-icb.nhs.uk', 'anyone@rivermarsh-icb.nhs.uk', true],
    ['@rivermarsh-icb.nhs.uk', 'anyone@x.rivermarsh-icb.nhs.uk', false],
  ])('%s vs %s -> %s', (pattern, address, expected) => {
    expect(compileAddressPattern(pattern).test(address)).toBe(expected);
  });
});

describe('literal prefilters never hide a match', () => {
  const samples = [
    'Dr Rahman has asked if the GP practice could please arrange a repeat U&E in 2 weeks.',
    'URGENT - CRITICAL RESULT: Potassium 6.9 ** CRITICAL ** please act on this today.',
    'Please could you re-send the referral via e-RS. He did not attend (DNA) twice.',
    'We would be grateful if you could issue a fit note (Med3) for 6 weeks; he cannot return to work.',
    'Could the practice take over prescribing under the shared care agreement? Melatonin is amber on the formulary.',
    'No GP actions required. For your information only. Please continue his current medications.',
    'Please ask him to contact the Booking Centre to book his appointment; letters have been returned.',
    'She has no current suicidal ideation. Suspected cancer (2WW) referral made. Safeguarding: none.',
    "Mr Test passed away on the ward. The family made a formal complaint and the coroner's officer will call.",
  ];
  it('every rule whose expression matches a sample also passes its prefilter', () => {
    const policy = loadPolicyFile(EXAMPLE).policy!;
    const rules = [...Object.values(policy.categoryRules).flatMap((set) => [...set!.rules, ...set!.cancel]), ...policy.urgency.rules, ...policy.urgency.cancel, ...policy.sensitive];
    for (const rule of rules) {
      for (const text of samples) {
        if (!rule.regex.test(text)) continue;
        const lower = text.toLowerCase();
        expect(rule.required.every((set) => set.some((literal) => lower.includes(literal))), `${rule.id} on ${text}`).toBe(true);
      }
    }
  });
});
