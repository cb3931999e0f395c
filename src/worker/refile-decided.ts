import type { Logger } from 'pino';
import { folderKeyFor, type CaseStatus } from '../core/case-status.js';
import type { MailSource } from '../mail/mail-source.js';
import type { Policy } from '../policy/policy.js';
import type { CaseStore } from '../store/case-store.js';

/**
 * The messages of cases a person has decided since the last pass (`review approve`, `reject`,
 * `reclassify`) leave the review folder for the folder of their new status, so that the review
 * folder holds only what still waits for somebody. A message no longer there (moved by hand) is
 * simply not found. With nothing decided this is one indexed query and no IMAP command: an idle
 * pass stays idle.
 */
export async function refileDecided(store: CaseStore, source: MailSource, policy: Policy, logger: Logger): Promise<number> {
  const { folders } = policy.data;
  const decided = store.awaitingRefile();
  if (decided.length === 0 || !source.moveByMessageId || !folders.enabled) return 0;
  const moves = new Map<string, { from: string; to: string; ids: number[]; messageIds: string[] }>();
  const nothingToMove: number[] = [];
  for (const row of decided) {
    const key = folderKeyFor(row.status as CaseStatus);
    // Back in review (a send that failed), or no Message-ID to find it by: it stays where it is.
    if (!key || key === 'review' || !row.message_id) {
      nothingToMove.push(row.id);
      continue;
    }
    const to = folders[key];
    const pair = `${row.refile_from}\n${to}`;
    const move = moves.get(pair) ?? { from: row.refile_from, to, ids: [], messageIds: [] };
    move.ids.push(row.id);
    move.messageIds.push(row.message_id);
    moves.set(pair, move);
  }
  let moved = 0;
  for (const move of moves.values()) {
    const found = await source.moveByMessageId(move.from, move.messageIds, move.to);
    moved += found.size;
    store.refiled(move.ids);
    logger.info({ from: move.from, to: move.to, decided: move.ids.length, moved: found.size }, 'decided messages moved out of the review folder');
  }
  store.refiled(nothingToMove);
  return moved;
}
