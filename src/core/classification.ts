import type { CategoryId, PolicyAction } from '../policy/schema.js';

/** Which step of the classifier produced a reason. */
export type ReasonGate = 'automatic' | 'sender' | 'urgency' | 'category' | 'cancel' | 'sensitive' | 'threshold' | 'parse';

/** One explainable step of a decision: which rule fired and the words or header that made it fire. */
export interface Reason {
  gate: ReasonGate;
  /** Rule id from the policy, or a built-in rule name such as `rfc3834.auto-submitted`. */
  rule: string;
  /** Plain-English explanation for an LMC officer. */
  detail: string;
  /** The words or header value that matched, quoted. */
  matched?: string;
  /** Where the match was found: `forwarded` is the forwarded message of a forward (urgency only). */
  where?: 'subject' | 'body' | 'attachment' | 'forwarded' | 'header' | 'sender';
  /** Category the rule counts towards, for category and cancel rules. */
  category?: CategoryId;
  weight?: number;
}

export interface Classification {
  category: CategoryId;
  action: PolicyAction;
  /** 0..1 */
  confidence: number;
  /** Hospital name when the sender is a listed hospital, else null. */
  organisation: string | null;
  /** Hospital id from the policy, or null. */
  organisationId: string | null;
  reasons: Reason[];
  /** Score per category, for the trace. */
  scores: Partial<Record<CategoryId, number>>;
}
