import type { LiteralIndex } from './literal-prefixes.js';
import type { CategoryId, Hospital, PolicyData } from './schema.js';

/** A rule ready to run: the policy's phrase or pattern compiled once at load time. */
export interface CompiledRule {
  id: string;
  weight: number;
  in: ReadonlyArray<'subject' | 'body' | 'attachment'>;
  regex: RegExp;
  /** The same expression with the g flag, for finding every occurrence (urgency cancels work on spans). */
  global: RegExp;
  /**
   * Lower-case literals the text must contain, one from each set, for the regex to have a chance
   * (worked out at load time): lets the classifier skip most rules with String#includes.
   */
  required: ReadonlyArray<readonly string[]>;
  /**
   * The literal sets the rule needs (all that can be proved, not only the cheap ones in
   * `required`), as numbers in the policy's `literals` index: one of each set must occur.
   */
  requiredIds: ReadonlyArray<readonly number[]>;
  /**
   * The literals (numbers in `literals`) one of which every match starts with, or null when that
   * cannot be proved. The search may begin at the first of them in the text: no match can start
   * earlier, so the regex need not be tried at every position before it.
   */
  leadingIds: readonly number[] | null;
  /** The rule's number in the policy's `literals` index (LiteralTable.registerRule): LiteralScan.candidate[serial]. */
  serial: number;
  /**
   * The longest a match can be (literal-prefixes.ts maxMatchLength), or null when unbounded. No match
   * starts more than this before the first occurrence of a required word (of each set in requiredIds).
   */
  maxLength: number | null;
  /**
   * How far past a match's start the expression can look (literal-prefixes.ts maxReach), or null
   * when unbounded: a search need not read further past the last place a match can start.
   */
  reach: number | null;
  /**
   * Required sets (literal numbers) whose last occurrence a scan finds (LiteralScan.last): no match
   * starts after the last occurrence of a word of each.
   */
  endIds: ReadonlyArray<readonly number[]>;
}

export interface CompiledHospital {
  hospital: Hospital;
  domains: ReadonlySet<string>;
  nhsmail: readonly RegExp[];
}

/**
 * A validated, compiled policy. Everything the pure core needs; built once by loadPolicy
 * and never mutated, so classify() stays a pure function of (message, policy, now).
 */
export interface Policy {
  data: PolicyData;
  /** sha256 (hex) of the policy's canonical JSON: stable across whitespace and key order. */
  hash: string;
  /** Where it was loaded from, for messages. */
  file: string;
  hospitals: readonly CompiledHospital[];
  neverHospital: readonly RegExp[];
  categoryRules: Partial<Record<CategoryId, { rules: readonly CompiledRule[]; cancel: readonly CompiledRule[] }>>;
  urgency: { rules: readonly CompiledRule[]; cancel: readonly CompiledRule[] };
  /** Rules naming subjects a person must handle (policy `sensitive.rules`). */
  sensitive: readonly CompiledRule[];
  /** Every literal the rules' prefilters use, found in a message's text in one pass. */
  literals: LiteralIndex;
}

/** One problem in a policy file, located for a person editing it. */
export interface PolicyProblem {
  file: string;
  line: number;
  column: number;
  /** Dotted field path, e.g. `categories.blood_test_request.rules[2].pattern`. */
  path: string;
  message: string;
  /** What to do about it, in plain English. */
  fix: string;
}

export interface PolicyLoadResult {
  policy: Policy | null;
  problems: PolicyProblem[];
  warnings: PolicyProblem[];
}
