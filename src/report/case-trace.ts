import type { Reason } from '../core/classification.js';
import { maskNhsNumbers } from '../core/nhs-number.js';
import { caseReference, type CaseRow } from '../store/case-store.js';

export interface CaseEvent {
  at: number;
  status: string;
  actor: string;
  note: string | null;
}

/** The trace's header fields that hold Message-IDs (headersThatMattered in the worker). */
const MESSAGE_ID_HEADERS = new Set(['messageId', 'inReplyTo']);

const GATE_TITLES: Record<string, string> = {
  automatic: 'Automatic mail (RFC 3834)',
  sender: 'Sender',
  urgency: 'Urgency',
  category: 'Category rules',
  cancel: 'Cancelling rules',
  sensitive: 'Sensitive subjects',
  threshold: 'Limits and thresholds',
  parse: 'Reading the message',
};

/** The whole story of one case, in the order an LMC officer asks about it. Pure. */
export function formatCaseTrace(row: CaseRow, events: readonly CaseEvent[]): string {
  const lines: string[] = [];
  const push = (text = '') => lines.push(maskNhsNumbers(text));
  // Message-IDs name mail, not patients, and are what an officer searches the mailbox for: Outlook's
  // (`<LO2P265MB5196...@...>`) are long runs of hex that now and then hold ten digits passing the
  // NHS number's check, which masking would star.
  const pushIdentifier = (label: string, id: string) => lines.push(`${label}${id}`);
  push(`Case ${caseReference(row.id)}${row.urgent ? '  [URGENT]' : ''}${row.dry_run ? '  [dry run]' : ''}`);
  push(`  status:        ${row.status}`);
  push(`  received:      ${new Date(row.received_at).toISOString()}`);
  push(`  from:          ${row.from_name ? `${row.from_name} ` : ''}<${row.from_address ?? 'unknown'}>`);
  push(`  organisation:  ${row.organisation ?? '(not a listed hospital)'}`);
  push(`  subject:       ${row.subject ?? '(purged)'}`);
  pushIdentifier('  message-id:    ', row.message_id ?? '(none)');
  push(`  category:      ${row.category} (action ${row.action}${row.autonomy ? `, autonomy ${row.autonomy}` : ''}, confidence ${row.confidence.toFixed(2)})`);
  push(`  policy:        version ${row.policy_version}, hash ${row.policy_hash}`);
  if (row.purged_at) push(`  purged:        ${new Date(row.purged_at).toISOString()} (texts removed under the retention policy)`);

  const trace = parseJson<{ headers?: Record<string, unknown>; scores?: Record<string, number>; parseProblems?: string[]; killSwitch?: boolean }>(row.trace, {});
  push();
  push('Headers that mattered');
  const headers = trace.headers ?? {};
  if (Object.keys(headers).length === 0) push('  (none recorded)');
  for (const [name, value] of Object.entries(headers)) {
    if (MESSAGE_ID_HEADERS.has(name)) pushIdentifier(`  ${name}: `, formatValue(value));
    else push(`  ${name}: ${formatValue(value)}`);
  }

  push();
  push('Rules that fired');
  const reasons = parseJson<Reason[]>(row.reasons, []);
  if (reasons.length === 0) push('  (none)');
  const byGate = new Map<string, Reason[]>();
  for (const reason of reasons) byGate.set(reason.gate, [...(byGate.get(reason.gate) ?? []), reason]);
  for (const [gate, list] of byGate) {
    push(`  ${GATE_TITLES[gate] ?? gate}`);
    for (const reason of list) {
      const matched = reason.matched ? ` matched "${reason.matched}"${reason.where ? ` in ${reason.where}` : ''}` : '';
      const weight = reason.weight !== undefined ? ` (weight ${reason.weight}${reason.category ? ` towards ${reason.category}` : ''})` : '';
      push(`    - ${reason.rule}:${matched}${weight}`);
      push(`      ${reason.detail}`);
    }
  }

  push();
  push('Scores');
  const scores = Object.entries(trace.scores ?? {}).sort((a, b) => b[1] - a[1]);
  if (scores.length === 0) push('  (none: decided from the headers alone)');
  for (const [category, score] of scores) push(`  ${category.padEnd(26)} ${Number(score).toFixed(2)}`);
  if (trace.parseProblems?.length) push(`  parse problems: ${trace.parseProblems.join('; ')}`);
  if (trace.killSwitch) push('  the kill switch was on when this case was decided');

  push();
  push('History');
  for (const event of events) {
    push(`  ${new Date(event.at).toISOString()}  ${event.status.padEnd(17)} by ${event.actor}${event.note ? `: ${event.note}` : ''}`);
  }

  push();
  push('Reply');
  if (!row.reply_message_id && !row.reply_text) {
    push('  no reply was rendered');
  } else {
    push(`  to:          ${row.reply_to_address ?? ''}`);
    push(`  subject:     ${row.reply_subject ?? '(purged)'}`);
    pushIdentifier('  message-id:  ', row.reply_message_id ?? '');
    push(`  sent:        ${row.replied_at ? new Date(row.replied_at).toISOString() : 'not sent'}`);
    if (row.smtp_response) push(`  server said: ${row.smtp_response}`);
    push('  text:');
    for (const line of (row.reply_text ?? '(purged)').split(/\r?\n/)) push(`    ${line}`);
  }
  return `${lines.join('\n')}\n`;
}

function parseJson<T>(text: string | null, fallback: T): T {
  if (!text) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

function formatValue(value: unknown): string {
  if (value === null || value === undefined) return '(none)';
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.length ? value.map(String).join(', ') : '(none)';
  if (typeof value === 'object') return Object.keys(value).length ? JSON.stringify(value) : '(none)';
  return String(value);
}
