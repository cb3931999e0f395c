/** One message's header block, fetched before any body so the cheap gates can run first. */
export interface HeaderItem {
  uid: number;
  header: Buffer;
  size: number;
  internalDate: Date | null;
}

export interface MailboxState {
  uidValidity: string;
  /** Highest UID that can exist now (uidNext - 1), for the idle check. */
  highestUid: number;
  exists: number;
}

/**
 * Where messages come from: the shared mailbox over IMAP, or a folder of .eml files for the demo
 * and for trying a policy on exported mail. The worker only talks to this interface.
 */
export interface MailSource {
  readonly description: string;
  open(): Promise<MailboxState>;
  /** Told that reads follow (there is new mail): a source may get ready for them meanwhile. */
  prepareReads?(): void;
  /** UIDs above `afterUid`, ascending. */
  listUids(afterUid: number): Promise<number[]>;
  headers(uids: readonly number[]): Promise<HeaderItem[]>;
  /** Full sources, at most `maxBytes` of each (larger messages arrive truncated and are flagged). */
  sources(uids: readonly number[], maxBytes: number): Promise<Map<number, { source: Buffer; truncated: boolean }>>;
  /** Move messages to a folder, creating it when missing. */
  move(uids: readonly number[], folder: string): Promise<void>;
  /**
   * Move the messages with these Message-IDs from another folder of the mailbox to `to`; answers the
   * Message-IDs it found there. Only a mailbox with folders has it (not a folder of .eml files).
   */
  moveByMessageId?(folder: string, messageIds: readonly string[], to: string): Promise<Set<string>>;
  /**
   * Which of these Message-IDs are in the mailbox's Sent folder (RFC 6154 \Sent), each with the time
   * its copy was saved when the server gives one; empty when the mailbox has no Sent folder. Only a
   * mailbox with folders has it.
   */
  sentCopies?(messageIds: readonly string[]): Promise<Map<string, Date | null>>;
  close(): Promise<void>;
}

/** `1,2,3,7,8` -> `1:3,7:8`: imapflow sends UID lists verbatim, and servers refuse very long ones. */
export function packUidSet(uids: readonly number[]): string {
  const sorted = [...new Set(uids)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? String(sorted[i]) : `${sorted[i]}:${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
