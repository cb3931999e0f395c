/**
 * A cheap necessary condition for a rule, worked out once at load time: the lower-case words
 * one of which every match must start with. The classifier skips the regular expression when
 * none of them occurs in the lower-cased text (String#includes is far cheaper than trying a
 * case-insensitive alternation at every position). Returns null when no such set can be
 * proved, and the rule then always runs: this only ever saves time, it never changes a result.
 */
export function literalPrefixes(source: string): string[] | null {
  const alternatives = splitTopLevel(source);
  if (!alternatives) return null;
  const prefixes: string[] = [];
  for (const alternative of alternatives) {
    const found = alternativePrefixes(alternative);
    if (!found) return null;
    prefixes.push(...found);
  }
  return [...new Set(prefixes)];
}

function alternativePrefixes(source: string): string[] | null {
  let rest = source;
  while (rest.startsWith('\\b')) rest = rest.slice(2);
  if (rest.startsWith('(') && !rest.startsWith('(?')) {
    const end = matchingParen(rest);
    if (end < 0) return null;
    const after = rest[end + 1];
    // An optional group proves nothing about the first characters.
    if (after === '?' || after === '*' || (after === '{' && /^\{0[,}]/.test(rest.slice(end + 1)))) return null;
    return literalPrefixes(rest.slice(1, end));
  }
  let literal = '';
  for (let i = 0; i < rest.length; i++) {
    const ch = rest[i]!;
    if (!/[A-Za-z0-9 &'-]/.test(ch)) break;
    const next = rest[i + 1];
    if (next === '?' || next === '*' || next === '{') break; // this character may be absent
    literal += ch;
  }
  return literal.length > 0 ? [literal.toLowerCase()] : null;
}

/** Each unescaped character outside a [class], with the group depth before it. */
function* structuralChars(source: string): Generator<{ index: number; ch: string; depth: number }> {
  let depth = 0;
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const ch = source[i]!;
    if (ch === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (ch === ']') inClass = false;
      continue;
    }
    if (ch === '[') inClass = true;
    yield { index: i, ch, depth };
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
  }
}

/** Split at `|` outside groups and classes; null when the source is too unusual to split safely. */
function splitTopLevel(source: string): string[] | null {
  const parts: string[] = [];
  let start = 0;
  let depth = 0;
  for (const { index, ch, depth: before } of structuralChars(source)) {
    if (ch === '|' && before === 0) {
      parts.push(source.slice(start, index));
      start = index + 1;
    }
    depth = ch === '(' ? before + 1 : ch === ')' ? before - 1 : before;
    if (depth < 0) return null;
  }
  if (depth !== 0) return null;
  parts.push(source.slice(start));
  return parts;
}

/** Index of the `)` closing the group that opens at index 0, or -1. */
function matchingParen(source: string): number {
  for (const { index, ch, depth } of structuralChars(source)) {
    if (ch === ')' && depth === 1) return index;
  }
  return -1;
}

/**
 * Sets of lower-case literals that must all be present (one of each set) for the rule to match:
 * the leading words, plus each mandatory group or literal run later in the expression, so
 * "please ... bloods" is skipped unless the text has both a request word and a blood word.
 */
export function requiredLiteralSets(source: string): string[][] {
  const alternatives = splitTopLevel(source);
  if (!alternatives) return [];
  if (alternatives.length > 1) return alternationSets(source, alternatives);
  const sets: string[][] = [];
  let run = '';
  const endRun = (): void => {
    // A lone letter is in almost every text, so proves nothing useful; a lone mark such as "&"
    // is rare enough to be worth checking ("U&E" needs the "&" whatever the spacing).
    const word = run.trim();
    if (word.length >= 2 || /^[^A-Za-z0-9 ]$/.test(word)) sets.push([run.toLowerCase()]);
    run = '';
  };
  let i = 0;
  while (i < source.length) {
    const ch = source[i]!;
    let end: number;
    let group: string | null = null;
    // An escaped punctuation mark (\? \* \.) stands for itself; other escapes (\s \b \w) do not.
    const escapedLiteral = ch === '\\' && ESCAPED_PUNCTUATION.test(source[i + 1] ?? '');
    if (ch === '\\') end = i + 2;
    else if (ch === '[') {
      end = classEnd(source, i);
      if (end < 0) return sets;
    } else if (ch === '(') {
      const close = matchingParen(source.slice(i));
      if (close < 0) return sets;
      end = i + close + 1;
      if (!source.startsWith('(?', i) || source.startsWith('(?:', i)) group = source.slice(i + (source.startsWith('(?:', i) ? 3 : 1), end - 1);
    } else end = i + 1;
    const quantifier = /^(\?|\*|\+|\{\d*(,\d*)?\})\??/.exec(source.slice(end));
    const optional = quantifier !== null && !quantifier[0].startsWith('+') && !/^\{[1-9]/.test(quantifier[0]);
    const isLiteral = escapedLiteral || (/[A-Za-z0-9 &'-]/.test(ch) && end === i + 1);
    if (isLiteral && !optional) {
      run += escapedLiteral ? source[i + 1]! : ch;
      // A repeated character ("s+", "x{2}") may occur more than once, so the run cannot go on past it.
      if (quantifier) endRun();
    } else {
      endRun();
      // Everything a mandatory group needs, the rule needs: not only its first words but later
      // ones too ("(please|kindly) ... (bloods|FBC)" inside a group).
      if (group !== null && !optional) sets.push(...requiredLiteralSets(group));
    }
    i = end + (quantifier ? quantifier[0].length : 0);
  }
  endRun();
  return sets;
}

/**
 * The most UTF-16 code units a match of `source` (compiled with the i flag, not u) can span, or null
 * when it has no bound (`*`, `+`, `{n,}`, a back-reference) or is too unusual to read. With the
 * required words it bounds where a match can start: one must contain an occurrence of a required
 * word, so none starts more than this before the first of them. Reading the source loosely may
 * only ever overestimate, which moves that start earlier and never changes a result.
 */
export function maxMatchLength(source: string): number | null {
  return spanBound(source, false);
}

/**
 * How far past where a match starts the expression can look while deciding it, in UTF-16 code
 * units, or null when that has no bound: what it can consume (maxMatchLength), a look-ahead's own
 * reach, and one character more for \b, \B and $ (each reads the character at the position it
 * stands on). No match starts after the last occurrence of a word it needs, so a search cut that
 * far past that occurrence finds exactly what the search of the whole text finds, and stops there
 * rather than reading the rest of a long letter. Reading the source loosely may only overestimate.
 */
export function maxReach(source: string): number | null {
  return spanBound(source, true);
}

function spanBound(source: string, reach: boolean): number | null {
  let best = 0;
  let current = 0;
  let i = 0;
  while (i < source.length) {
    const ch = source[i]!;
    let atom: number | null;
    let end: number;
    if (ch === '|') {
      best = Math.max(best, current);
      current = 0;
      i += 1;
      continue;
    }
    if (ch === '\\') {
      const next = source[i + 1] ?? '';
      end = i + 2;
      if (next === 'b' || next === 'B') atom = reach ? 1 : 0;
      else if (/[1-9k]/.test(next)) return null; // a back-reference: as long as what it refers to
      else atom = 1; // \x41 and \u0041 read as one character and literal digits: an overestimate
    } else if (ch === '[') {
      end = classEnd(source, i);
      if (end < 0) return null;
      atom = 1;
    } else if (ch === '(') {
      const close = matchingParen(source.slice(i));
      if (close < 0) return null;
      end = i + close + 1;
      const look = /^\(\?(=|!|<=|<!)/.exec(source.slice(i, i + 4));
      if (look && !reach) atom = 0;
      else if (look && (look[1] === '=' || look[1] === '!')) {
        atom = spanBound(source.slice(i + 3, end - 1), true);
        if (atom === null) return null;
      } else if (look) {
        // A look-behind reads backwards, but a \b or $ at its end reads the character it stands on.
        if (/\(\?[=!]/.test(source.slice(i + 4, end - 1))) return null;
        atom = 1;
      } else {
        const inner = source.startsWith('(?:', i) ? source.slice(i + 3, end - 1) : source.startsWith('(?<', i) ? source.slice(source.indexOf('>', i) + 1, end - 1) : source.slice(i + 1, end - 1);
        atom = spanBound(inner, reach);
        if (atom === null) return null;
      }
    } else if (ch === ')') {
      return null;
    } else {
      end = i + 1;
      atom = ch === '^' || (ch === '$' && !reach) ? 0 : 1;
    }
    const quantifier = /^(?:(\?)|(\*|\+)|\{(\d+)\}|\{(\d+),(\d*)\})\??/.exec(source.slice(end));
    let times = 1;
    if (quantifier) {
      if (quantifier[2] !== undefined) return null;
      if (quantifier[3] !== undefined) times = Number(quantifier[3]);
      else if (quantifier[5] !== undefined) {
        if (quantifier[5] === '') return null;
        times = Number(quantifier[5]);
      }
      end += quantifier[0].length;
    }
    current += atom * times;
    i = end;
  }
  return Math.max(best, current);
}

/** ASCII punctuation that a backslash makes literal. */
const ESCAPED_PUNCTUATION = /^[!-/:-@[-`{-~]$/;

/**
 * Required sets for `a|b|c`: a match satisfies one of the alternatives, so it contains one
 * literal of some required set of each. Taking the most telling set of every alternative and
 * joining them gives a set the rule needs ("one of {x, y, z}"), which rules out far more texts
 * than the leading words alone when those are common ("we|I", "the|our", "if"). The leading
 * words stay as a set too. If some alternative needs no literal at all, only they remain.
 */
function alternationSets(source: string, alternatives: readonly string[]): string[][] {
  const sets: string[][] = [];
  const leading = literalPrefixes(source);
  if (leading) sets.push(leading);
  const joined: string[] = [];
  for (const alternative of alternatives) {
    const best = mostTelling(requiredLiteralSets(alternative));
    if (!best) return sets;
    joined.push(...best);
  }
  const union = [...new Set(joined)];
  if (!leading || !sameMembers(union, leading)) sets.push(union);
  return sets;
}

/**
 * Words found in nearly every letter a hospital sends: a required set holding one tells almost
 * nothing, however long the word ("please ... today" is to be looked for where "today" is). The
 * second line, hospital words, measured 1.6-2.6% faster again (classify alone, in-process A/B);
 * a third (pronouns, "arrange", "appointment", ...) no better.
 */
const EVERYDAY_WORDS = new Set([
  ...['please', 'review', 'action', 'the', 'you', 'with', 'has', 'have', 'for', 'and', 'new', 'see', 'call', 'could you', 'would you', 'can you', 'following'],
  ...['we', 'i', 'our', 'will', 'not', 'no', 'can', 'could', 'would', 'hospital', 'clinic', 'team', 'ward', 'department', 'patient', 'result', 'results', 'report'],
]);

/**
 * The set least likely to be found by chance: one without an everyday word, then its shortest
 * literal longest, then the fewest literals.
 */
function mostTelling(sets: readonly string[][]): string[] | null {
  let best: string[] | null = null;
  for (const set of sets) {
    if (set.length === 0) continue;
    if (!best || moreTelling(set, best)) best = set;
  }
  return best;
}

/**
 * The required sets fit to bound where a search ends (CompiledRule.endIds): those without a
 * one-character literal. A scan reads every occurrence of a tracked word, not only its first, and
 * "f" or "2" occurs in nearly every line. Everyday words ("please", "for") are kept: their last
 * occurrence still bounds a search, and leaving them out measured no faster (in-process A/B).
 */
export function boundingSets(sets: readonly string[][]): string[][] {
  return sets.filter((set) => set.length > 0 && set.every((literal) => literal.trim().length >= 2));
}

function everyday(set: readonly string[]): boolean {
  return set.some((literal) => EVERYDAY_WORDS.has(literal.trim()));
}

function moreTelling(set: readonly string[], than: readonly string[]): boolean {
  const shortest = (s: readonly string[]): number => Math.min(...s.map((literal) => literal.trim().length));
  if (everyday(set) !== everyday(than)) return !everyday(set);
  return shortest(set) > shortest(than) || (shortest(set) === shortest(than) && set.length < than.length);
}

/**
 * The required sets, the one most likely to be missing from a text first: a rule is ruled out at
 * the first set none of whose words occur, after reading every word of that set, so a short set
 * of rare words asked first settles most texts for a few reads ("at home", "cope" before "is not",
 * "cannot", "unable to", ... for "not coping at home").
 */
export function mostTellingFirst(sets: readonly string[][]): string[][] {
  return [...sets].sort((a, b) => (moreTelling(a, b) ? -1 : moreTelling(b, a) ? 1 : 0));
}

function sameMembers(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((literal) => b.includes(literal));
}

/** The index just past the character class opening at `start` (JavaScript's rules: `]` first closes it), or -1. */
export function classEnd(source: string, start: number): number {
  for (let i = start + 1; i < source.length; i++) {
    if (source[i] === '\\') i++;
    else if (source[i] === ']') return i + 1;
  }
  return -1;
}

/**
 * Every literal the policy's prefilters use, numbered as the rules are compiled, then turned into
 * one automaton (Aho-Corasick) that finds where each literal first occurs in a lower-cased text
 * in a single pass. Checking a rule's required words is then an array look-up per word, where
 * String#indexOf would scan the whole text again for each absent word.
 */
export class LiteralTable {
  private readonly ids = new Map<string, number>();
  /** Per rule, in the order registered: the literals of its first required set, or null when it needs none. */
  private readonly firstSets: Array<readonly number[] | null> = [];
  /** Literals whose last occurrence a scan also finds (LiteralScan.last). */
  private readonly tracked = new Set<number>();

  /** The number of `literal` (lower-case, not empty), added if new. */
  idOf(literal: string): number {
    let id = this.ids.get(literal);
    if (id === undefined) {
      id = this.ids.size;
      this.ids.set(literal, id);
    }
    return id;
  }

  /**
   * Number a rule, given its required sets as literal numbers (the most telling first): the index
   * lists the rule under each literal of its first set, so that a scan names the rules that set
   * leaves possible (LiteralScan.candidate), and a rule needing no literal under none (always possible).
   */
  registerRule(requiredIds: ReadonlyArray<readonly number[]>): number {
    this.firstSets.push(requiredIds.length === 0 ? null : [...requiredIds[0]!]);
    return this.firstSets.length - 1;
  }

  /**
   * Have scans find where each of these literals last occurs, as well as where it first does. Meant
   * for words that are not in every letter: a scan reads each occurrence of them, not only the first.
   */
  trackLast(ids: readonly number[]): void {
    for (const id of ids) this.tracked.add(id);
  }

  build(): LiteralIndex {
    return new LiteralIndex([...this.ids.keys()], this.firstSets, [...this.tracked]);
  }
}

/** What one scan of a text found, lent until RESULT_SLOTS - 1 more scans (see LiteralIndex.scan). */
export interface LiteralScan {
  /** Literal number -> first position in the text, or -1. */
  readonly first: Int32Array;
  /**
   * Rule number (LiteralTable.registerRule) -> 1 when a literal of the rule's first required set
   * occurs in the text (or it needs none), else 0: a rule marked 0 cannot match.
   */
  readonly candidate: Uint8Array;
  /** Literal number -> last position in the text, or -1; kept only for the literals tracked (LiteralTable.trackLast). */
  readonly last: Int32Array;
}

/** How many results of firstIndexes may be held at once, plus one. */
const RESULT_SLOTS = 5;

export class LiteralIndex {
  readonly size: number;
  /** Character code (below 128) -> column of the transition table; 0 for characters no literal has. */
  private readonly column = new Uint8Array(128);
  private readonly columns: number;
  /** state * columns + column -> next state (a complete automaton: no failure links to follow). */
  private readonly next: Uint16Array | Uint32Array;
  /** The literals ending at a state (its own and, through suffix links, shorter ones): outputs[outputStart[s] .. outputStart[s + 1]). */
  private readonly outputStart: Int32Array;
  private readonly outputs: Int32Array;
  private readonly lengths: Int32Array;
  /**
   * State -> the number of the last scan that recorded its outputs: a literal's first occurrence is all
   * a scan keeps, so a state met again in the same text ("the", "is", "please" dozens of times a
   * letter) has nothing left to record.
   */
  private readonly recordedIn: Int32Array;
  /** State -> 1 when a literal ending there is tracked: such a state is read at every occurrence, never skipped. */
  private readonly tracksLast: Uint8Array;
  private scans = 0;
  /** The result arrays scan hands out in turn, each with the literals and the rules it last set. */
  private readonly slots: Array<LiteralScan & { touched: number[]; marked: number[] }>;
  private nextSlot = 0;
  /** Literal number -> the rules listed under it: rulesOf[rulesStart[id] .. rulesStart[id + 1]). */
  private readonly rulesStart: Int32Array;
  private readonly rulesOf: Int32Array;
  /** Rules that need no literal: possible in every text. */
  private readonly alwaysPossible: Int32Array;

  constructor(literals: readonly string[], firstSets: ReadonlyArray<readonly number[] | null> = [], tracked: readonly number[] = []) {
    this.size = literals.length;
    const byLiteral: number[][] = literals.map(() => []);
    firstSets.forEach((set, rule) => set?.forEach((id) => byLiteral[id]!.push(rule)));
    this.rulesStart = new Int32Array(literals.length + 1);
    byLiteral.forEach((rules, id) => (this.rulesStart[id + 1] = this.rulesStart[id]! + rules.length));
    this.rulesOf = Int32Array.from(byLiteral.flat());
    this.alwaysPossible = Int32Array.from(firstSets.flatMap((set, rule) => (set === null ? [rule] : [])));
    this.lengths = Int32Array.from(literals, (literal) => literal.length);
    let columns = 1;
    for (const literal of literals) {
      for (const ch of literal) {
        const code = ch.charCodeAt(0);
        if (code >= 128) throw new Error(`literal "${literal}" is not ASCII`);
        if (this.column[code] === 0) this.column[code] = columns++;
      }
    }
    this.columns = columns;
    // The rules match with /i and without /u: a letter then matches only its own ASCII other case,
    // never a non-ASCII look-alike (ECMA-262 Canonicalize), so folding A-Z here finds exactly the
    // places a rule can match, in the text as written: no lower-cased copy, positions unchanged.
    for (let code = 65; code <= 90; code++) this.column[code] = this.column[code + 32]!;

    // The trie, then breadth-first failure links folded into a complete transition table.
    const trie: number[][] = [new Array<number>(columns).fill(-1)];
    const ending: number[][] = [[]];
    literals.forEach((literal, id) => {
      let state = 0;
      for (const ch of literal) {
        const col = this.column[ch.charCodeAt(0)]!;
        if (trie[state]![col] === -1) {
          trie[state]![col] = trie.length;
          trie.push(new Array<number>(columns).fill(-1));
          ending.push([]);
        }
        state = trie[state]![col]!;
      }
      ending[state]!.push(id);
    });
    const fail = new Int32Array(trie.length);
    const queue: number[] = [];
    for (let col = 0; col < columns; col++) {
      const child = trie[0]![col]!;
      if (child === -1) trie[0]![col] = 0;
      else queue.push(child);
    }
    for (let head = 0; head < queue.length; head++) {
      const state = queue[head]!;
      ending[state]!.push(...ending[fail[state]!]!);
      for (let col = 0; col < columns; col++) {
        const child = trie[state]![col]!;
        const viaFailure = trie[fail[state]!]![col]!;
        if (child === -1) trie[state]![col] = viaFailure;
        else {
          fail[child] = viaFailure;
          queue.push(child);
        }
      }
    }
    // Two bytes a cell while the states fit: the table is read once per character of every
    // message, and half the size keeps more of it in cache (a measurable share of classify).
    this.next = trie.length <= 0x10000 ? Uint16Array.from(trie.flat()) : Uint32Array.from(trie.flat());
    this.outputStart = new Int32Array(trie.length + 1);
    ending.forEach((ids, state) => (this.outputStart[state + 1] = this.outputStart[state]! + ids.length));
    this.outputs = Int32Array.from(ending.flat());
    this.recordedIn = new Int32Array(trie.length);
    const isTracked = new Set(tracked);
    this.tracksLast = Uint8Array.from(ending, (ids) => (ids.some((id) => isTracked.has(id)) ? 1 : 0));
    this.slots = Array.from({ length: RESULT_SLOTS }, () => ({
      first: new Int32Array(this.size).fill(-1),
      last: new Int32Array(this.size).fill(-1),
      candidate: new Uint8Array(firstSets.length),
      touched: [],
      marked: [],
    }));
  }

  /**
   * firstIndexes, and the rules its literals leave possible: a text holds about 45 of the policy's
   * thousand literals, so naming the rules listed under those costs a few dozen steps, where asking
   * each of 160 rules whether a word of its first set occurs read about a thousand positions a field.
   */
  scan(text: string): LiteralScan {
    // firstIndexes fills this slot and moves on to the next.
    const slot = this.slots[this.nextSlot]!;
    this.firstIndexes(text);
    const { candidate, marked, touched } = slot;
    for (const rule of marked) candidate[rule] = 0;
    marked.length = 0;
    const { rulesStart, rulesOf, alwaysPossible } = this;
    for (let i = 0; i < alwaysPossible.length; i++) {
      candidate[alwaysPossible[i]!] = 1;
      marked.push(alwaysPossible[i]!);
    }
    for (const id of touched) {
      for (let r = rulesStart[id]!, end = rulesStart[id + 1]!; r < end; r++) {
        const rule = rulesOf[r]!;
        if (candidate[rule] === 0) {
          candidate[rule] = 1;
          marked.push(rule);
        }
      }
    }
    return slot;
  }

  /**
   * Where each literal (by number) first starts in `text`, ASCII case ignored, or -1 where it does
   * not occur. The array is lent, not given: the RESULT_SLOTS-th call after this one reuses it, so a
   * caller may hold at most RESULT_SLOTS - 1 results at once (classify holds one per field: four, with
   * a forwarded message).
   * A fresh array per call, filled with -1 for every literal of the policy, cost about 1 us, more
   * than the scan of a subject (issue 7: the classifier's speed).
   */
  firstIndexes(text: string): Int32Array {
    const slot = this.slots[this.nextSlot]!;
    this.nextSlot = (this.nextSlot + 1) % RESULT_SLOTS;
    const { first, last, touched } = slot;
    for (const id of touched) {
      first[id] = -1;
      last[id] = -1;
    }
    touched.length = 0;
    const { column, columns, next, outputStart, outputs, lengths, recordedIn, tracksLast } = this;
    // Never 0, the stamp every state starts with.
    const scan = (this.scans = (this.scans % 0x7ffffffe) + 1);
    let state = 0;
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      state = next[state * columns + (code < 128 ? column[code]! : 0)]!;
      if (recordedIn[state] === scan) continue;
      if (tracksLast[state] === 0) recordedIn[state] = scan;
      for (let o = outputStart[state]!, end = outputStart[state + 1]!; o < end; o++) {
        const id = outputs[o]!;
        const at = i - lengths[id]! + 1;
        last[id] = at;
        if (first[id] === -1) {
          first[id] = at;
          touched.push(id);
        }
      }
    }
    return first;
  }
}
