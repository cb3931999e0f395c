import { automaticMailReasons } from './automatic-mail.js';
import type { Classification, Reason } from './classification.js';
import { isForward } from './forward.js';
import type { MailMessage, MessageHeaders } from './message.js';
import { matchHospital } from './sender.js';
import { TAXONOMY_DEFAULT_ACTION } from '../policy/default-actions.js';
import type { LiteralIndex } from '../policy/literal-prefixes.js';
import type { CompiledRule, Policy } from '../policy/policy.js';
import { CATEGORY_IDS, REQUEST_CATEGORIES, type CategoryId, type Hospital, type PolicyAction } from '../policy/schema.js';

const REQUEST_SET: ReadonlySet<CategoryId> = new Set(REQUEST_CATEGORIES);
/** Categories scored by rules: the requests, plus the two that say "no request here" and "a request we cannot place". */
const SCORED_CATEGORIES: readonly CategoryId[] = CATEGORY_IDS.filter((id) => id !== 'urgent_clinical' && id !== 'auto_generated' && id !== 'non_hospital');
const MAX_QUOTE = 60;

type Field = 'subject' | 'body' | 'attachment';

/**
 * One field of the message as the rules see it: the text as written, and where each of the
 * policy's prefilter literals first occurs in it (ASCII case ignored), found in one pass.
 */
const NOTHING_FOUND: ArrayLike<number> = [];

class FieldText {
  /** Literal number -> first position in the text, or -1. */
  readonly firstIndexOf: ArrayLike<number>;
  /** Rule number (CompiledRule.serial) -> 1 when a word of the rule's first required set occurs here. */
  readonly candidate: ArrayLike<number>;
  /** Literal number -> last position in the text, or -1 (for the literals of the rules' endIds). */
  readonly lastIndexOf: ArrayLike<number>;
  /**
   * Where the urgency cancel cues match in the text, found when an urgency rule first matches here:
   * an urgent letter matches several rules, and each used to run every cancel cue over the text again.
   */
  urgencyCancelSpans: { cancel: readonly CompiledRule[]; spans: Array<[number, number]> } | null = null;

  constructor(
    readonly text: string,
    literals: LiteralIndex,
  ) {
    // An empty field (most messages have no attachment text) is never searched: mayMatch stops first.
    // The positions are lent by the index until four more fields are read: classify reads a
    // message's fields (three, four for a forward), uses them and is done with them before the next message.
    if (text.length === 0) {
      this.firstIndexOf = NOTHING_FOUND;
      this.candidate = NOTHING_FOUND;
      this.lastIndexOf = NOTHING_FOUND;
      return;
    }
    const scan = literals.scan(text);
    this.firstIndexOf = scan.first;
    this.candidate = scan.candidate;
    this.lastIndexOf = scan.last;
  }
}
type Texts = Record<Field, FieldText> & {
  /** The forwarded message of a forward (isForward), read for urgency like the body; null otherwise. */
  forwarded: FieldText | null;
};

function fieldTexts(message: MailMessage, policy: Policy): Texts {
  const field = (text: string): FieldText => new FieldText(text, policy.literals);
  return {
    subject: field(message.subject),
    body: field(message.newText),
    attachment: field(attachmentText(message)),
    forwarded: message.quotedText.length > 0 && isForward(message) ? field(message.quotedText) : null,
  };
}

/** False when the rule cannot match: some literal it needs is absent from the text. */
function mayMatch(rule: CompiledRule, field: FieldText): boolean {
  // The scan answered for the first (most telling) set: most rules stop here without a read of their words.
  if (field.text.length === 0 || field.candidate[rule.serial] === 0) return false;
  const sets = rule.requiredIds;
  for (let s = 1; s < sets.length; s++) {
    const set = sets[s]!;
    let found = false;
    for (const id of set) {
      if (field.firstIndexOf[id]! >= 0) {
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}

/**
 * The earliest position a match of `rule` can start at in `field`: the first occurrence of any
 * word every match starts with (0 when there are none to go by), or -1 when none occurs; later
 * still when the longest match ends before the first required word.
 */
function searchStart(rule: CompiledRule, field: FieldText): number {
  let start = 0;
  if (rule.leadingIds !== null) {
    start = -1;
    for (const id of rule.leadingIds) {
      const index = field.firstIndexOf[id]!;
      if (index >= 0 && (start < 0 || index < start)) start = index;
    }
    if (start < 0) return -1;
  }
  // A match holds a word of each required set, so it starts no more than the longest match before
  // the first of them: "(contact|review|...) [^.]{0,80} (today|...)" need not be tried from every
  // "review" of a long letter whose only "today" is near its end.
  if (rule.maxLength !== null) {
    for (const set of rule.requiredIds) {
      let first = -1;
      for (const id of set) {
        const index = field.firstIndexOf[id]!;
        if (index >= 0 && (first < 0 || index < first)) first = index;
      }
      if (first - rule.maxLength > start) start = first - rule.maxLength;
    }
  }
  return start;
}

/**
 * The last position a match of `rule` can start at in `field`: no match starts after the last
 * occurrence of a word of each of its endIds sets (the text's length when it has none).
 */
function lastStart(rule: CompiledRule, field: FieldText): number {
  let bound = field.text.length;
  for (const set of rule.endIds) {
    let last = -1;
    for (const id of set) {
      const index = field.lastIndexOf[id]!;
      if (index > last) last = index;
    }
    if (last < bound) bound = last;
  }
  return bound;
}

/**
 * The first match of `rule` in `field`, the same as `rule.regex.exec(field.text)`, but skipping
 * the text before any match could start (the global copy searches on from lastIndex, and still
 * sees the characters before it for \b and look-behinds) and after it can: the search runs over
 * the text cut as far past lastStart as the expression can look, so every character a match could
 * depend on is still there, and the rest of a long letter is not read when the rule's words are
 * all near its top. A rule whose words are all too far apart is not searched at all.
 */
function execRule(rule: CompiledRule, field: FieldText): RegExpExecArray | null {
  if (!mayMatch(rule, field)) return null;
  const start = searchStart(rule, field);
  if (start < 0) return null;
  const last = lastStart(rule, field);
  if (last < start) return null;
  const text = field.text;
  const scan = rule.global;
  scan.lastIndex = start;
  return scan.exec(rule.reach !== null && last + rule.reach < text.length ? text.slice(0, last + rule.reach) : text);
}

/** execRule on a bare text: lets a test hold the prefilter to `rule.regex.exec(text)` (test/unit/classify-prefilter.test.ts). */
export function prefilteredExec(rule: CompiledRule, text: string, literals: LiteralIndex): RegExpExecArray | null {
  return execRule(rule, new FieldText(text, literals));
}

interface HeaderOutcome {
  final: Classification | null;
  hospital: Hospital | null;
  reasons: Reason[];
}

/**
 * The header-only gates: automatic mail, then "is the sender a listed hospital". Returns the
 * final classification when the headers settle it (the worker then never fetches the body), or
 * null when the body is needed.
 */
export function classifyHeaders(h: MessageHeaders, policy: Policy): Classification | null {
  return headerGates(h, policy).final;
}

/**
 * Classify one message. Pure: the same message and policy always give the same answer.
 * Gates in order: automatic mail -> listed hospital -> urgency (overrides every request) ->
 * category rules -> thresholds. `now` is accepted for future time-dependent rules.
 */
export function classify(message: MailMessage, policy: Policy, now: Date): Classification {
  void now;
  const gate = headerGates(message, policy);
  if (gate.final) return gate.final;
  const hospital = gate.hospital!;
  const reasons = gate.reasons;
  const texts = fieldTexts(message, policy);

  const urgent = urgencyGate(texts, policy, reasons);
  if (urgent > 0) {
    const threshold = policy.data.urgency.threshold;
    return result('urgent_clinical', policy, strength(urgent, threshold), hospital, reasons, { urgent_clinical: urgent });
  }

  const scores: Partial<Record<CategoryId, number>> = {};
  for (const id of SCORED_CATEGORIES) {
    const set = policy.categoryRules[id];
    if (!set || set.rules.length === 0) continue;
    const categoryReasons: Reason[] = [];
    let score = 0;
    for (const rule of set.rules) {
      const hit = firstMatch(rule, texts);
      if (!hit) continue;
      score += rule.weight;
      categoryReasons.push({ gate: 'category', rule: rule.id, detail: `counts towards ${id}`, matched: quote(hit.text), where: hit.where, category: id, weight: rule.weight });
    }
    if (score === 0) continue;
    const cancelled = firstCancel(set.cancel, texts);
    if (cancelled) {
      reasons.push({
        gate: 'cancel',
        rule: cancelled.rule.id,
        detail: `cancels ${id} (score ${round(score)} dropped)`,
        matched: quote(cancelled.text),
        where: cancelled.where,
        category: id,
      });
      continue;
    }
    scores[id] = round(score);
    reasons.push(...categoryReasons);
  }
  return heldIfSensitive(decideCategory(scores, policy, hospital, reasons), texts, policy);
}

/**
 * A request that would be answered, in a message about a subject a person must handle (the
 * patient has died, a complaint, a coroner's inquiry): left for a person instead. "Please arrange
 * this at the hospital end" in answer to "Mr X passed away; please cancel his bloods" would hurt.
 */
function heldIfSensitive(classification: Classification, texts: Texts, policy: Policy): Classification {
  if (classification.action !== 'reply') return classification;
  for (const rule of policy.sensitive) {
    const hit = firstMatch(rule, texts);
    if (!hit) continue;
    classification.reasons.push({
      gate: 'sensitive',
      rule: rule.id,
      detail: 'a subject a person must handle (policy sensitive.rules): the request is left for a person, not answered automatically',
      matched: quote(hit.text),
      where: hit.where,
    });
    return { ...classification, action: 'review' };
  }
  return classification;
}

// ---------------------------------------------------------------------------------------------

function headerGates(h: MessageHeaders, policy: Policy): HeaderOutcome {
  const automatic = automaticMailReasons(h);
  const sender = matchHospital(h, policy);
  if (automatic.length > 0) {
    return { final: result('auto_generated', policy, 1, sender.hospital, automatic, {}), hospital: sender.hospital, reasons: automatic };
  }
  if (!sender.hospital) {
    return { final: result('non_hospital', policy, 1, null, sender.reasons, {}), hospital: null, reasons: sender.reasons };
  }
  return { final: null, hospital: sender.hospital, reasons: sender.reasons };
}

/**
 * Urgency score of the subject, the new text and the attached letters (where each rule looks):
 * footers and quoted reply history never count. An attached letter counts like the body: a hospital's
 * "please see the attached letter" may carry a critical result, and the category rules read the same
 * attachment, so without it the request in a letter marked urgent would be answered automatically.
 * So does the forwarded message of a forward, wherever a rule reads the body: "FW: Lab result -
 * please action the below" is about the result below, which may be critical.
 */
function urgencyGate(texts: Texts, policy: Policy, reasons: Reason[]): number {
  const { rules, cancel } = policy.urgency;
  let score = 0;
  const found: Reason[] = [];
  const mark = (rule: CompiledRule, match: string, where: Reason['where']): void => {
    score += rule.weight;
    found.push({ gate: 'urgency', rule: rule.id, detail: 'marks the message as clinically urgent', matched: quote(match), where, category: 'urgent_clinical', weight: rule.weight });
  };
  for (const rule of rules) {
    let matched = false;
    for (const where of rule.in) {
      const match = uncancelledMatch(rule, texts[where], cancel);
      if (match === null) continue;
      mark(rule, match, where);
      matched = true;
      break;
    }
    if (matched || texts.forwarded === null || !rule.in.includes('body')) continue;
    const match = uncancelledMatch(rule, texts.forwarded, cancel);
    if (match !== null) mark(rule, match, 'forwarded');
  }
  if (score >= policy.data.urgency.threshold) {
    reasons.push(...found);
    return score;
  }
  return 0;
}

/**
 * First occurrence of `rule` in `text` that is not inside a cancel cue's match: "non-urgent"
 * cancels the "urgent" inside it, not an "urgent" elsewhere in the same message.
 */
function uncancelledMatch(rule: CompiledRule, field: FieldText, cancel: readonly CompiledRule[]): string | null {
  let m = execRule(rule, field);
  if (m === null) return null;
  if (field.urgencyCancelSpans?.cancel !== cancel) field.urgencyCancelSpans = { cancel, spans: cancelSpans(field, cancel) };
  const spans = field.urgencyCancelSpans.spans;
  if (spans.length === 0) return m[0];
  // execRule searched with the global copy, which now stands just past the first match.
  const scan = rule.global;
  for (; m !== null; m = scan.exec(field.text)) {
    if (m[0].length === 0) {
      scan.lastIndex++;
      continue;
    }
    const start = m.index;
    const end = start + m[0].length;
    if (!spans.some(([s, e]) => s <= start && end <= e)) return m[0];
  }
  return null;
}

function cancelSpans(field: FieldText, cancel: readonly CompiledRule[]): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  for (const rule of cancel) {
    const scan = rule.global;
    for (let m = execRule(rule, field); m !== null; m = scan.exec(field.text)) {
      if (m[0].length === 0) scan.lastIndex++;
      else spans.push([m.index, m.index + m[0].length]);
    }
  }
  return spans;
}

function firstMatch(rule: CompiledRule, texts: Texts): { text: string; where: Field } | null {
  for (const where of rule.in) {
    const m = execRule(rule, texts[where]);
    if (m) return { text: m[0], where };
  }
  return null;
}

function firstCancel(cancel: readonly CompiledRule[], texts: Texts): { rule: CompiledRule; text: string; where: Field } | null {
  for (const rule of cancel) {
    const hit = firstMatch(rule, texts);
    if (hit) return { rule, ...hit };
  }
  return null;
}

function decideCategory(scores: Partial<Record<CategoryId, number>>, policy: Policy, hospital: Hospital, reasons: Reason[]): Classification {
  const { minScore, minConfidence, closeCall } = policy.data.thresholds;
  const ranked = (Object.entries(scores) as Array<[CategoryId, number]>).sort((a, b) => b[1] - a[1]);
  const requests = ranked.filter(([id]) => REQUEST_SET.has(id));
  const top = requests[0];
  const info = scores.clinical_information ?? 0;
  const unclearCues = scores.unclear ?? 0;

  if (!top || top[1] < minScore) {
    // No request strong enough to name. A hospital message that asks something we cannot place
    // goes to a person; one that asks nothing is a letter for information.
    if (unclearCues > info) {
      reasons.push({ gate: 'threshold', rule: 'thresholds.no-category', detail: `asks something, but no request category reaches the minimum score ${minScore}${top ? ` (best ${top[0]} ${top[1]})` : ''}` });
      return result('unclear', policy, strength(unclearCues, minScore), hospital, reasons, scores);
    }
    reasons.push({ gate: 'threshold', rule: 'thresholds.no-request', detail: `no request category reaches the minimum score ${minScore}${top ? ` (best ${top[0]} ${top[1]})` : ''}: a letter for information` });
    const confidence = info > 0 ? Math.max(0.6, strength(info, minScore)) : top ? 0.5 : 0.6;
    return result('clinical_information', policy, confidence, hospital, reasons, scores);
  }

  const [topId, topScore] = top;
  const topAction = actionOf(topId, policy);
  // The strongest competitor that would be handled differently (reply vs review vs file), or
  // answered with another reply: "please arrange a repeat U&E and issue a fit note" answered about
  // the bloods alone would leave the fit note to nobody, its message filed as replied.
  const handledDifferently = (id: CategoryId): boolean =>
    actionOf(id, policy) !== topAction || (topAction === 'reply' && templateOf(id, policy) !== templateOf(topId, policy));
  const rival = ranked.find(([id, score]) => id !== topId && id !== 'unclear' && score > 0 && handledDifferently(id));
  const runnerUp = ranked.find(([id]) => id !== topId && id !== 'unclear');
  if (rival && rival[1] >= closeCall * topScore) {
    const how = actionOf(rival[0], policy) === topAction ? 'each with its own reply: a person answers both' : 'which are handled differently';
    reasons.push({
      gate: 'threshold',
      rule: 'thresholds.closeCall',
      detail: `too close to call: ${topId} ${topScore} vs ${rival[0]} ${rival[1]}, ${how}`,
    });
    return result('unclear', policy, 0.5, hospital, reasons, scores);
  }
  const separation = runnerUp ? 1 - runnerUp[1] / topScore : 1;
  const confidence = round(strength(topScore, minScore) * (0.6 + 0.4 * separation));
  if (confidence < minConfidence) {
    reasons.push({
      gate: 'threshold',
      rule: 'thresholds.minConfidence',
      detail: `confidence ${confidence} for ${topId} is below ${minConfidence}${runnerUp ? ` (runner-up ${runnerUp[0]} ${runnerUp[1]})` : ''}`,
    });
    return result('unclear', policy, confidence, hospital, reasons, scores);
  }
  return result(topId, policy, confidence, hospital, reasons, scores);
}

function templateOf(id: CategoryId, policy: Policy): string | undefined {
  return policy.data.categories[id]?.template;
}

function actionOf(id: CategoryId, policy: Policy): PolicyAction {
  const configured = policy.data.categories[id]?.action;
  if (configured) return configured;
  // A category the policy leaves out never replies: it has no approved template.
  const fallback = TAXONOMY_DEFAULT_ACTION[id];
  return fallback === 'reply' ? 'review' : fallback;
}

function result(
  category: CategoryId,
  policy: Policy,
  confidence: number,
  hospital: Hospital | null,
  reasons: Reason[],
  scores: Partial<Record<CategoryId, number>>,
): Classification {
  return {
    category,
    action: actionOf(category, policy),
    confidence: round(Math.min(1, Math.max(0, confidence))),
    organisation: hospital?.name ?? null,
    organisationId: hospital?.id ?? null,
    reasons,
    scores,
  };
}

/** 0..1 that grows with the score: 0.78 at the threshold, 0.95 at twice the threshold. */
function strength(score: number, threshold: number): number {
  return 1 - Math.exp((-1.5 * score) / Math.max(threshold, 0.01));
}

function attachmentText(message: MailMessage): string {
  if (message.attachments.length === 0) return '';
  if (message.attachments.length === 1) return message.attachments[0]!.text ?? '';
  return message.attachments.map((a) => a.text ?? '').join('\n');
}

function quote(text: string): string {
  // Most matches are a few words on one line with single spaces: nothing to fold.
  if (text.length <= MAX_QUOTE && !FOLDED_AWAY.test(text)) return text;
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_QUOTE ? `${flat.slice(0, MAX_QUOTE - 3)}...` : flat;
}

/** What quote() would change in a short match: a white space other than one plain space, or one at either end. */
const FOLDED_AWAY = /\s\s|[^\S ]|^\s|\s$/;

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
