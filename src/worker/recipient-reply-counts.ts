import { countsAsReply, type CaseStatus } from '../core/case-status.js';
import type { CaseStore } from '../store/case-store.js';

/**
 * Replies to each recipient in the last day, as decide() weighs them against
 * limits.repliesPerSenderPerDay, without a count over the case log for every message: the log is
 * counted once per recipient per pass, and the pass adds the reply decisions it makes and takes
 * back the ones that fail. A busy hospital address with hundreds of replies a day otherwise cost a
 * scan of all of them per message (issue 7's profile of a 10,000-message backlog).
 *
 * The pass holds the worker lease, so the log only changes under it through this pass, except for a
 * person approving a reply with `review approve` meanwhile: that reply is counted from the next
 * pass on. Near the limit the count is taken again from the log, so such an approval still counts
 * where it matters.
 */
export class RecipientReplyCounts {
  private readonly counts = new Map<string, number>();

  constructor(
    private readonly store: Pick<CaseStore, 'recipientRepliesSince'>,
    private readonly countDryRun: boolean,
  ) {}

  /** Replies to `recipient` since `since`, counted up to `atMost` (as CaseStore.recipientRepliesSince). */
  since(recipient: string, since: number, atMost: number): number {
    const known = this.counts.get(recipient);
    if (known !== undefined && known < atMost - 1) return known;
    const counted = this.store.recipientRepliesSince(recipient, since, this.countDryRun, atMost);
    // A count cut at atMost is only a lower bound: not one to add to.
    if (counted < atMost) this.counts.set(recipient, counted);
    else this.counts.delete(recipient);
    return counted;
  }

  /** The pass has logged a case for `recipient` with this status: counted when the log's count would count it. */
  logged(recipient: string, status: CaseStatus): void {
    const known = this.counts.get(recipient);
    if (countsAsReply(status, this.countDryRun) && known !== undefined) this.counts.set(recipient, known + 1);
  }

  /** A reply the pass had counted will not go (it went to review). */
  withdrawn(recipient: string): void {
    const known = this.counts.get(recipient);
    if (known !== undefined) this.counts.set(recipient, Math.max(0, known - 1));
  }
}
