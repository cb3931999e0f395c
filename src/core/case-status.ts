/**
 * The states a case moves through. `sending` is written before a reply is handed to SMTP and
 * `replied` after the server accepted it: a case found in `sending` after a crash was maybe sent,
 * so it is never resent automatically (it goes to review as "delivery not confirmed").
 */
export const CASE_STATUSES = [
  'decided',
  'sending',
  'replied',
  'would_reply',
  'awaiting_approval',
  'shadowed',
  'review',
  'filed',
  'ignored',
  'too_old',
  'rejected',
] as const;
export type CaseStatus = (typeof CASE_STATUSES)[number];

/** States a case can end in; `review` and `awaiting_approval` wait for a person. */
export const FINAL_STATUSES: ReadonlySet<CaseStatus> = new Set([
  'replied',
  'would_reply',
  'shadowed',
  'filed',
  'ignored',
  'too_old',
  'rejected',
]);

/**
 * States that count as a reply against the reply limits (per recipient, per thread): a dry run also
 * counts its own `would_reply` cases.
 */
export const COUNTED_AS_REPLY: readonly CaseStatus[] = ['decided', 'sending', 'replied'];

export function countsAsReply(status: CaseStatus, countDryRun: boolean): boolean {
  return COUNTED_AS_REPLY.includes(status) || (countDryRun && status === 'would_reply');
}

export const WAITING_FOR_PERSON: ReadonlySet<CaseStatus> = new Set(['review', 'awaiting_approval']);

/** Which policy folder a message is moved to once its case reaches a status; null leaves it in place. */
export function folderKeyFor(status: CaseStatus): 'replied' | 'review' | 'filed' | 'ignored' | null {
  switch (status) {
    case 'replied':
      return 'replied';
    case 'review':
    case 'awaiting_approval':
      return 'review';
    case 'filed':
    case 'rejected':
      return 'filed';
    case 'ignored':
      return 'ignored';
    // Old mail, dry-run and shadow cases stay where staff expect them: the bot has not handled them.
    default:
      return null;
  }
}
