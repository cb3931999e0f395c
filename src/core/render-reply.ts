import type { Classification } from './classification.js';
import type { MessageHeaders } from './message.js';
import type { Policy } from '../policy/policy.js';
import type { CompiledTemplates } from '../reply/compile-templates.js';
import { formatUkDate } from './uk-time.js';
import { foldedStart } from './excerpt.js';
import { hospitalOfAddress } from './sender.js';

export interface RenderedReply {
  from: string;
  to: string;
  subject: string;
  messageId: string;
  inReplyTo: string | null;
  references: string[];
  /** Extra headers: RFC 3834 marks and our case id. */
  headers: Record<string, string>;
  text: string;
  html: string;
}

export interface ReplyInput {
  headers: MessageHeaders;
  /** The new text of the hospital's message, already masked, to quote briefly. */
  quoteSource: string;
  classification: Classification;
  caseRef: string;
  to: string;
  from: string;
  messageId: string;
}

const MAX_QUOTE_CHARS = 300;
const MAX_REFERENCES = 10;

/** Build the reply to one hospital message from the category's templates. Pure. */
export function renderReply(input: ReplyInput, policy: Policy, templates: CompiledTemplates): RenderedReply {
  const category = policy.data.categories[input.classification.category];
  const name = category?.template;
  const textTemplate = name ? templates.text[name] : undefined;
  const htmlTemplate = name ? templates.html[name] : undefined;
  if (!category || !textTemplate || !htmlTemplate) {
    throw new Error(`no compiled reply template for category ${input.classification.category}`);
  }
  const { data } = policy;
  const context = {
    alliance: data.identity.alliance,
    pcns: data.identity.pcns,
    lmc: data.identity.lmc,
    urgentLine: data.identity.urgentLine,
    signature: data.identity.signature ?? data.identity.alliance,
    mailbox: data.identity.mailbox,
    caseRef: input.caseRef,
    // The trust of the address the reply goes to: a Reply-To at another listed trust is greeted as that trust.
    hospital: hospitalOfAddress(input.to, policy)?.name ?? input.classification.organisation ?? '',
    senderName: oneLine(input.headers.from?.name ?? ''),
    category: input.classification.category,
    categoryDescription: category.description ?? '',
    contract: { name: data.contract.name, year: data.contract.year },
    clauses: category.clauses.map((id) => ({ id, text: data.contract.clauses[id] ?? '' })),
    original: {
      subject: oneLine(input.headers.subject),
      date: input.headers.date ? formatUkDate(input.headers.date) : '',
      quote: shortQuote(input.quoteSource),
    },
    policyVersion: data.policy.version,
  };
  const originalId = safeMessageId(input.headers.messageId);
  const references = [...input.headers.references.map(safeMessageId).filter((id): id is string => id !== null)];
  if (originalId) references.push(originalId);
  return {
    from: input.from,
    to: input.to,
    subject: replySubject(input.headers.subject),
    messageId: input.messageId,
    inReplyTo: originalId,
    // A long chain keeps its first message (the conversation's root) and its latest ones.
    references: references.length > MAX_REFERENCES ? [references[0]!, ...references.slice(-(MAX_REFERENCES - 1))] : references,
    headers: {
      // RFC 3834 5.1: mark the reply as automatic so well-behaved responders do not answer it.
      'Auto-Submitted': 'auto-replied',
      // Exchange/NHSmail honours this and sends no out-of-office or read receipt back.
      'X-Auto-Response-Suppress': 'All',
      'X-PCN-Case-Id': input.caseRef,
    },
    text: textTemplate(context),
    html: htmlTemplate(context),
  };
}

/** `Re: <original>` without doubling an existing Re:, and never a CR/LF (header injection). */
export function replySubject(original: string): string {
  const subject = oneLine(original).trim();
  if (/^re\s*(\[\d+\])?\s*:/i.test(subject)) return subject;
  return subject ? `Re: ${subject}` : 'Re: your message';
}

/** A Message-ID we are willing to copy into our headers: one `<...>` token, no spaces or controls. */
export function safeMessageId(value: string | null | undefined): string | null {
  if (!value) return null;
  const trimmed = value.trim();
  return /^<[^<>\s\u0000-\u001f\u007f]{1,250}>$/.test(trimmed) ? trimmed : null;
}

function oneLine(value: string): string {
   
  return value.replace(/[\r\n\u0000-\u001f\u007f]+/g, ' ').replace(/\s{2,}/g, ' ');
}

function shortQuote(text: string): string {
  const flat = foldedStart(text, MAX_QUOTE_CHARS + 1);
  if (flat.length <= MAX_QUOTE_CHARS) return flat;
  const cut = flat.slice(0, MAX_QUOTE_CHARS);
  const lastSpace = cut.lastIndexOf(' ');
  return `${cut.slice(0, lastSpace > 200 ? lastSpace : MAX_QUOTE_CHARS)} ...`;
}
