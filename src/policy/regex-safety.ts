/**
 * A policy pattern that repeats a group which itself repeats, such as `(\w+\s?)+!`, can backtrack
 * for minutes or hours before it gives up on an ordinary sentence: the classifier, and with it the
 * worker's pass, would stop on that message. JavaScript cannot interrupt a regular expression, so
 * such a pattern must be refused when the policy is loaded.
 *
 * Two steps: a scan of the source finds the repeated groups that contain a repetition (cheap; most
 * policies have none), and only those patterns are tried, in a separate thread that is ended after a
 * time limit, on texts made to provoke the backtracking. Many nested repetitions are harmless
 * (`(?:\s+\w+)+`: each turn must start with a space): only one that is slow on those texts is refused.
 */
import { Worker } from 'node:worker_threads';
import { classEnd } from './literal-prefixes.js';

/** Repetitions up to this many turns count as bounded: the example policy's `{0,14}` lists of words. */
const BOUNDED_TURNS = 20;

/** The repeated groups of `source` that repeat something inside them, as written (`(\w+\s?)+`). */
export function nestedRepetitions(source: string): string[] {
  const found: string[] = [];
  const open: Array<{ start: number; repeats: boolean }> = [];
  let inner = false; // whether the group just closed (or the atom just read) repeats inside
  for (let i = 0; i < source.length; i++) {
    const ch = source[i]!;
    let atomRepeats = false;
    let atomStart = i;
    if (ch === '\\') {
      i++;
    } else if (ch === '[') {
      const end = classEnd(source, i);
      i = end < 0 ? source.length : end - 1;
    } else if (ch === '(') {
      open.push({ start: i, repeats: false });
      if (source[i + 1] === '?') i += source[i + 2] === '<' && (source[i + 3] === '=' || source[i + 3] === '!') ? 3 : 2;
      continue;
    } else if (ch === ')') {
      const group = open.pop();
      if (!group) continue;
      atomStart = group.start;
      atomRepeats = group.repeats;
    } else if (ch === '|') {
      continue;
    }
    const quantifier = readQuantifier(source, i + 1);
    if (quantifier) {
      if (quantifier.unbounded && atomRepeats) found.push(source.slice(atomStart, quantifier.end));
      i = quantifier.end - 1;
    }
    inner = atomRepeats || (quantifier?.unbounded ?? false);
    const parent = open[open.length - 1];
    if (parent && inner) parent.repeats = true;
  }
  return found;
}

/** The quantifier at `at`, if any: whether it may repeat more than BOUNDED_TURNS times, and where it ends. */
function readQuantifier(source: string, at: number): { unbounded: boolean; end: number } | null {
  const ch = source[at];
  let end: number;
  let unbounded: boolean;
  if (ch === '*' || ch === '+') {
    end = at + 1;
    unbounded = true;
  } else if (ch === '?') {
    end = at + 1;
    unbounded = false;
  } else if (ch === '{') {
    const match = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(at));
    if (!match) return null;
    end = at + match[0].length;
    unbounded = match[2] !== undefined && (match[3] === '' || Number(match[3]) > BOUNDED_TURNS);
  } else {
    return null;
  }
  if (source[end] === '?') end++; // lazy: backtracks just the same
  return { unbounded, end };
}

/** Texts on which a nested repetition backtracks: runs of letters, digits and spaces with no ending. */
const PROBE_TEXTS = [
  'a'.repeat(40),
  'ab '.repeat(20),
  'a b '.repeat(15),
  '1'.repeat(40),
  ' '.repeat(40),
  'a, '.repeat(20),
  'a.'.repeat(25),
  'aaaaaaaaaa-'.repeat(4),
].flatMap((text) => [text, `${text}\u0001`]);

/** How long every probe text together may take: a sound pattern needs well under a millisecond. */
const PROBE_TIME_LIMIT_MS = 2000;

/**
 * True when `source` (compiled with `flags`) does not finish the probe texts within the time limit.
 * Runs them in a thread of its own, waited for synchronously (the policy loader is synchronous).
 */
export function backtracksCatastrophically(source: string, flags: string): boolean {
  const done = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    `const { workerData } = require('node:worker_threads');
     const regex = new RegExp(workerData.source, workerData.flags);
     for (const text of workerData.texts) regex.test(text);
     Atomics.store(workerData.done, 0, 1);
     Atomics.notify(workerData.done, 0);`,
    { eval: true, workerData: { source, flags, texts: PROBE_TEXTS, done } },
  );
  worker.unref();
  // The thread's own start-up counts too; a free machine needs about 50 ms for it.
  const result = Atomics.wait(done, 0, 0, PROBE_TIME_LIMIT_MS);
  void worker.terminate();
  return result === 'timed-out';
}
