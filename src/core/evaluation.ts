import type { CategoryId, PolicyAction } from '../policy/schema.js';

/** One labelled message and what the classifier made of it. */
export interface EvalRow {
  name: string;
  expectedCategory: CategoryId | string;
  expectedAction: PolicyAction | string;
  predictedCategory: CategoryId | string;
  predictedAction: PolicyAction | string;
}

export interface EvalReport {
  total: number;
  correct: number;
  accuracy: number;
  /** Of the messages labelled `reply`, the share that would get the reply of the labelled category. */
  replyRecall: number;
  /** Of the messages that would be replied to, the share whose label is that same reply. */
  replyPrecision: number;
  perCategory: Array<{ category: string; support: number; predicted: number; precision: number; recall: number }>;
  /** confusion[expected][predicted] = count */
  confusion: Record<string, Record<string, number>>;
  /** Messages that would get an automatic reply although the label says otherwise: the regression that blocks a policy. */
  unsafeReplies: Array<{ name: string; expected: string; predicted: string }>;
  /** Labelled replies that would not be answered (safe, but lost work). */
  missedReplies: Array<{ name: string; expected: string; predicted: string }>;
}

export function evaluate(rows: readonly EvalRow[]): EvalReport {
  const confusion: Record<string, Record<string, number>> = {};
  const categories = new Set<string>();
  let correct = 0;
  let replyLabelled = 0;
  let replyHit = 0;
  let replyPredicted = 0;
  const unsafeReplies: EvalReport['unsafeReplies'] = [];
  const missedReplies: EvalReport['missedReplies'] = [];
  for (const row of rows) {
    categories.add(row.expectedCategory);
    categories.add(row.predictedCategory);
    const line = (confusion[row.expectedCategory] ??= {});
    line[row.predictedCategory] = (line[row.predictedCategory] ?? 0) + 1;
    const same = row.expectedCategory === row.predictedCategory;
    if (same) correct++;
    const labelledReply = row.expectedAction === 'reply';
    const wouldReply = row.predictedAction === 'reply';
    if (labelledReply) replyLabelled++;
    if (wouldReply) replyPredicted++;
    if (labelledReply && wouldReply && same) replyHit++;
    // A reply of the wrong kind is as unsafe as a reply to a message that needs none.
    if (wouldReply && (!labelledReply || !same)) unsafeReplies.push({ name: row.name, expected: row.expectedCategory, predicted: row.predictedCategory });
    if (labelledReply && !(wouldReply && same)) missedReplies.push({ name: row.name, expected: row.expectedCategory, predicted: row.predictedCategory });
  }
  const perCategory = [...categories].sort().map((category) => {
    const support = rows.filter((r) => r.expectedCategory === category).length;
    const predicted = rows.filter((r) => r.predictedCategory === category).length;
    const hits = rows.filter((r) => r.expectedCategory === category && r.predictedCategory === category).length;
    return { category, support, predicted, precision: predicted ? hits / predicted : 0, recall: support ? hits / support : 0 };
  });
  return {
    total: rows.length,
    correct,
    accuracy: rows.length ? correct / rows.length : 0,
    replyRecall: replyLabelled ? replyHit / replyLabelled : 1,
    replyPrecision: replyPredicted ? replyHit / replyPredicted : 1,
    perCategory,
    confusion,
    unsafeReplies,
    missedReplies,
  };
}
