/**
 * The message model: what the classifier and the worker know about one e-mail.
 * Built by src/mail/parse-message.ts from raw bytes; the core never sees MIME.
 */

export interface MailAddress {
  /** Display name as decoded, may be empty. */
  name: string;
  /** Lower-cased address, `local@domain`. */
  address: string;
}

export interface AttachmentInfo {
  filename: string | null;
  contentType: string;
  size: number;
  /** Extracted text of small PDF attachments (a hospital often says "see attached letter"). */
  text?: string;
}

/**
 * What can be read from the header block alone. The worker applies its cheap gates
 * (too old, automatic, not a listed hospital, already seen) to this before fetching any body.
 */
export interface MessageHeaders {
  messageId: string | null;
  inReplyTo: string | null;
  references: string[];
  /** Date header; null when missing or unparseable. */
  date: Date | null;
  /** Decoded subject (RFC 2047), CR/LF removed. */
  subject: string;
  from: MailAddress | null;
  replyTo: MailAddress[];
  to: MailAddress[];
  cc: MailAddress[];
  /**
   * Return-Path / envelope sender: null when the header is absent, '' when it is the null
   * sender `<>` (bounces, RFC 5321 4.5.5).
   */
  returnPath: string | null;
  /** Top-level MIME type, lower-case (e.g. `multipart/report`). */
  contentType: string;
  /** Lower-cased header name -> values, for the headers the gates read (Auto-Submitted, List-*, ...). */
  headers: Record<string, string[]>;
}

/**
 * In the worker's passes the parse thread leaves out what the pass never reads (src/mail/worker-answer.ts):
 * `quotedText` and `footerText` are empty there, and `text` too unless the policy logs bodies. A rule
 * that should read them must change that first (test/integration/parse-pool-threads.test.ts checks that
 * every decision is the same either way).
 */
export interface MailMessage extends MessageHeaders {
  /** Whole text body: text/plain, or HTML turned into text. */
  text: string;
  /** The new text of this message: no quoted history, signature or trust disclaimer. */
  newText: string;
  /** Quoted history (earlier messages in the thread, forwarded blocks). */
  quotedText: string;
  /** Signature and disclaimer lines removed from the new text. */
  footerText: string;
  attachments: AttachmentInfo[];
  /** Problems met while parsing (truncated, bad encoding...). The message is still usable. */
  parseProblems: string[];
  /** Size of the raw message in bytes. */
  size: number;
}
