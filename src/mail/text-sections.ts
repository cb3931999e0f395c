/**
 * Splits a message's text into what its sender wrote now, the quoted history below it, and the
 * signature / disclaimer around it, so that "urgent" in a trust footer ("this mailbox is not
 * monitored for urgent queries") or in an old message in the thread does not drive a decision.
 *
 * Pure. Written from how Outlook / NHSmail mail is laid out in general:
 * - replies are top-posted; the history starts at an Outlook header block (From: / Sent:),
 *   "-----Original Message-----", "On <date>, <name> wrote:" or a forwarded-message marker;
 * - interleaved replies quote with ">" (RFC 3676 4.5);
 * - a signature starts at "-- " (RFC 3676 4.3) or after the sign-off ("Kind regards");
 * - trust disclaimers and service notices are paragraphs of stock phrases at the end (sometimes
 *   an "external sender" banner at the top), often behind a line of _ or * characters.
 */

import { withoutLookalikes } from './lookalikes.js';

export interface TextSections {
  /** What the sender wrote in this message. */
  newText: string;
  /** Earlier messages: reply history and forwarded messages. */
  quotedText: string;
  /** Signature, trust disclaimers, service notices, banners. */
  footerText: string;
}

/** Lines that start the quoted history; everything from such a line down is history. */
const HISTORY_MARKERS: RegExp[] = [
  /^-{2,}\s*original message\s*-{2,}/i,
  /^-{2,}\s*forwarded message\s*-{2,}/i,
  /^-{2,}\s*(forwarded by|message transféré)/i,
  /^begin forwarded message\s*:?/i,
  /^forwarded message\s*:?$/i,
  /^-{2,}\s*reply message\s*-{2,}/i,
  /^_{2,}\s*$/, // Outlook's rule above the header block: only a marker when the header follows, see below
];

/** "On Mon, 12 Jan 2026 at 10:03, Jane Smith <j@x.nhs.uk> wrote:" (may wrap onto a second line). */
const WROTE_LINE = /^on\b.{0,300}\bwrote\s*:\s*$/i;
const WROTE_START = /^on\s+\S.{0,200}$/i;
const WROTE_END = /\bwrote\s*:\s*$/i;

/** Outlook's header block of the previous message: "From:" then, within a few lines, "Sent:" or "Date:". */
const OUTLOOK_FROM = /^\*?from\s*:\*?\s*\S/i;
const OUTLOOK_FOLLOWING = /^\*?(sent|date|to|subject|cc)\s*:\*?\s*/i;

/** RFC 3676 4.3 signature separator; html-to-text and some clients drop the trailing space. */
const SIGNATURE_DELIMITER = /^--\s?$/;

/** Sign-off lines: short lines that close a letter. Everything below them is signature. */
const SIGN_OFF =
  /^(?:(?:with\s+)?(?:kind|kindest|best|warm|warmest|many|sincere)\s+)?(?:regards|wishes|thanks|thank you|thanks again)(?:\s+(?:and|&)\s+(?:best\s+)?(?:regards|wishes))?\s*[,.!]*$|^(?:yours\s+(?:sincerely|faithfully|truly)|sincerely|best|cheers|thanks|regards|rgds|kr|br)\s*[,.!]*$/i;

/**
 * A postscript: "P.S.", "PS -", "PPS", "NB:", "Addendum:", or "Also," "Update:" "Just to add," at the
 * start of a line. Written below the sign-off, it is still the sender's message (often the very
 * thing that matters: "PS her potassium was 6.9 this morning"), not signature.
 */
const POSTSCRIPT = /^\s*(?:(?:p\.?\s?p\.?\s?s\b\.?|p\.?\s?s\b\.?|p\.s\.|n\.?\s?b\b\.?|addendum\b)\s*[:\-\u2013\u2014]?|(?:also|update|additionally|one more thing|just to add)\s*[,:])/i;

/**
 * A sentence about the patient: "Her potassium is 6.9 this morning.", "He needs to be seen today."
 * Written below the sign-off without a postscript word ("Thanks, Dr Y" then a line more), it is
 * still the sender's message: signatures name people and places, they do not say how a patient is.
 * (Mr/Mrs/Ms are left out: signatures start with them, "Mr J Smith, Consultant Urologist".)
 */
const PATIENT_SENTENCE =
  /\b(?:he|she|his|her|him|they|their|the patient|this patient|patient's)\b[^.?!\n]{0,80}?\b(?:is|was|has|had|have|needs?|requires?|came|remains|will|should|must|did|does|may)\b/i;

/**
 * News about a patient's state that no signature, disclaimer or service notice carries: a result
 * with its value ("potassium 6.9", "K+ 6.9"), or words of acute risk said of a person ("he
 * disclosed suicidal thoughts", "stockpiling his tablets"; not a team's name such as "Self-Harm
 * Liaison Team" or a disclaimer's "if you have safeguarding concerns"). A footer-looking paragraph with such news is the
 * sender's message ("Confidential: he disclosed suicidal thoughts ...", a line under the sign-off
 * "K+ 6.9 on today's sample - please contact him"), and the urgency rules must read it.
 */
const CLINICAL_NEWS =
  /\b(?:potassium|sodium|haemoglobin|hemoglobin|Hb|INR|eGFR|creatinine|troponin|glucose|lactate|calcium|platelets?|neutrophils?|lithium|digoxin|CRP)\b[^.\n]{0,25}?\d|\bK\+\s?(?:of |was |is |at )?\d|\b(?:he|she|they|his|her|him|their|the patient|patient's)\b[^\n]{0,80}?\b(?:suicid\w*|self[- ]harm\w*|overdose\w*|stockpil\w*|chest pain|collapsed|unresponsive|bleeding heavily|critical (?:result|value)s?|arrhythmias?|safeguarding concerns?)\b|\b(?:critical (?:result|value)s?)\b/i;

/**
 * Stock phrases of trust disclaimers, NHSmail footers and e-mail banners. A paragraph with one
 * of them is a footer paragraph wherever it stands: no clinical request is worded like this.
 */
const DISCLAIMER_PHRASES: RegExp[] = [
  /confidentiality\s+(notice|statement|warning)/i,
  /^\W*(disclaimer|confidential(ity)?)\s*[:\-*]/i,
  /this (e-?mail|message|communication)[^.]{0,80}\b(is|are|may be|may contain|contains?)\b[^.]{0,60}\b(confidential|privileged)/i,
  /this (e-?mail|message) and any (files|attachments)/i,
  /the information (contained )?in this (e-?mail|message)/i,
  /intended (solely )?(only )?for the (sole )?use of the (individual|person|addressee|intended)/i,
  /if you (are not|were not) the (intended|named) (recipient|addressee)/i,
  /if you have received this (e-?mail|message|communication)? ?in error/i,
  /received this (e-?mail|message) in error/i,
  /nhsmail is the secure e-?mail/i,
  /approved for exchanging patient data/i,
  /portal\.nhs\.net/i,
  /please (consider|think about) the environment/i,
  /before printing this (e-?mail|message)/i,
  /(views|opinions) expressed (in this (e-?mail|message) )?are (those of the (author|sender)|not necessarily)/i,
  /has been (scanned|checked) for (viruses|malware)/i,
  /\bfreedom of information act\b/i,
  /may be (monitored|recorded|disclosed) (for|under|in accordance)/i,
  /originated from outside (of )?(the|this|our) organi[sz]ation/i,
  /^\W*(\[?external\]?|caution:?\s*external|external (e-?mail|sender))\b/i,
  /do not click (on )?(any )?links or open attachments/i,
  /registered (in england|office|charity)/i,
  /^sent from my (iphone|ipad|android|mobile|samsung|blackberry)/i,
  /^get outlook for (ios|android)/i,
];

/**
 * Service notices: "this mailbox is not monitored for urgent matters", "if you have an urgent
 * query please contact the ward". They only count as footer in the signature area (after the
 * sign-off or in the trailing run of footer paragraphs): the same words high in a message could
 * be the request itself.
 */
const SERVICE_NOTICE_PHRASES: RegExp[] = [
  /if you have (an?|any) (urgent|clinical|further)\b.{0,60}\b(quer|concern|question|enquir|issue|matter)/i,
  /for (any )?(urgent|clinical)( clinical)? (quer|concern|question|enquir|issue|matter|advice)/i,
  /if (your|the) (query|enquiry|matter|question|concern|request) is (urgent|clinical)/i,
  /(mailbox|inbox|account|address|e-?mail)\b.{0,40}\b(is|are) (not|only) (monitored|checked|staffed|read)/i,
  /(mailbox|inbox|account|e-?mail)\b.{0,40}\bnot (to )?be used for urgent/i,
  /(not|never) (to )?(be )?used for urgent/i,
  /\bout of hours\b.{0,80}\b(call|contact|ring|telephone|phone|111|999)/i,
  /\bin (an|case of) emergency\b.{0,60}\b(call|contact|ring|dial|999|a&e)/i,
  /\b(crisis line|single point of access)\b/i,
  /we aim to (respond|reply)/i,
  /\bworking hours\b.{0,40}\b(are|is|:)/i,
];

/** A line made of one repeated separator character: ____, *****, =====, -----. */
const SEPARATOR_LINE = /^\s*([_*=~#-])\1{4,}\s*$/;

type ParagraphKind = 'content' | 'disclaimer' | 'service' | 'separator';

interface Paragraph {
  /** Index of the first line in the region. */
  start: number;
  /** Index after the last line (blank lines after it included). */
  end: number;
  kind: ParagraphKind;
}

export function splitSections(text: string): TextSections {
  const lines = normalise(text).split('\n');
  const historyStart = findHistoryStart(lines);
  const region = lines.slice(0, historyStart);
  const quoted: string[] = [];
  const current: string[] = [];
  // Interleaved replies (RFC 3676 4.5 "> " quoting): quoted lines go to the history, the
  // sender's own lines between them stay.
  for (const line of region) {
    if (/^\s*>/.test(line)) quoted.push(line);
    else current.push(line);
  }
  if (historyStart < lines.length) {
    if (quoted.length > 0) quoted.push('');
    quoted.push(...lines.slice(historyStart));
  }
  const { body, footer } = splitFooter(current);
  return {
    newText: tidy(body.join('\n')),
    quotedText: tidy(quoted.join('\n')),
    footerText: tidy(footer.join('\n')),
  };
}

function normalise(text: string): string {
  return withoutLookalikes(text)
    .replace(/\r\n?/g, '\n')
    .replace(/\u0000/g, '')
    .replace(/[\u00a0\u2007\u202f]/g, ' ');
}

function tidy(text: string): string {
  return text.replace(/[ \t]+$/gm, '').replace(/\n{3,}/g, '\n\n').trim();
}

function findHistoryStart(lines: string[]): number {
  for (let index = 0; index < lines.length; index += 1) {
    const line = (lines[index] ?? '').trim();
    if (line.length === 0) continue;
    if (OUTLOOK_FROM.test(line) && hasHeaderBlockBelow(lines, index)) {
      return includeRuleAbove(lines, index);
    }
    if (WROTE_LINE.test(line)) return index;
    if (WROTE_START.test(line) && WROTE_END.test((lines[index + 1] ?? '').trim()) && !WROTE_END.test(line)) {
      return index;
    }
    for (const marker of HISTORY_MARKERS) {
      if (marker.source === '^_{2,}\\s*$') continue; // only with a header block, handled above
      if (marker.test(line)) return index;
    }
  }
  return lines.length;
}

/** The From: line starts a header block when Sent:/Date:/To:/Subject: follow within 4 lines. */
function hasHeaderBlockBelow(lines: string[], fromIndex: number): boolean {
  let seen = 0;
  for (let index = fromIndex + 1; index < lines.length && seen < 4; index += 1) {
    const line = (lines[index] ?? '').trim();
    if (line.length === 0) continue;
    seen += 1;
    if (OUTLOOK_FOLLOWING.test(line)) return true;
  }
  return false;
}

/** Outlook draws a rule (____) above the quoted header block: it belongs to the history. */
function includeRuleAbove(lines: string[], fromIndex: number): number {
  let index = fromIndex - 1;
  while (index >= 0 && (lines[index] ?? '').trim() === '') index -= 1;
  if (index >= 0 && SEPARATOR_LINE.test(lines[index] ?? '')) return index;
  return fromIndex;
}

function splitFooter(lines: string[]): { body: string[]; footer: string[] } {
  const paragraphs = toParagraphs(lines);
  const isFooterLine = new Array<boolean>(lines.length).fill(false);
  const markParagraph = (paragraph: Paragraph): void => {
    for (let index = paragraph.start; index < paragraph.end; index += 1) isFooterLine[index] = true;
  };

  // 1. The signature delimiter or the last sign-off: everything below is signature, but for a
  //    postscript, from its first line to the end of its paragraph, and for a paragraph with a
  //    sentence about the patient.
  const signatureStart = findSignatureStart(lines);
  let inPostscript = false;
  for (let index = signatureStart; index < lines.length; index += 1) {
    const line = lines[index] ?? '';
    if (line.trim() === '') inPostscript = false;
    else if (POSTSCRIPT.test(line)) inPostscript = true;
    isFooterLine[index] = !inPostscript;
  }
  for (const paragraph of paragraphs) {
    // A paragraph may start above the sign-off ("Thanks" / "Ann" / "He was ..." with no blank line).
    const start = Math.max(paragraph.start, signatureStart);
    if (start >= paragraph.end || paragraph.kind !== 'content') continue;
    if (PATIENT_SENTENCE.test(lines.slice(start, paragraph.end).join(' '))) {
      for (let index = start; index < paragraph.end; index += 1) isFooterLine[index] = false;
      continue;
    }
    // News without a sentence about the patient ("K+ 6.9 on today's sample"): its own lines only,
    // so a name glued above it stays signature.
    for (let index = start; index < paragraph.end; index += 1) {
      if (CLINICAL_NEWS.test(lines[index] ?? '')) isFooterLine[index] = false;
    }
  }

  // 2. Disclaimer paragraphs, wherever they stand (banners at the top, notices at the end).
  for (const paragraph of paragraphs) {
    if (paragraph.kind === 'disclaimer') markParagraph(paragraph);
  }

  // 3. The trailing run: from the end upwards, footer paragraphs, service notices and separators.
  for (let index = paragraphs.length - 1; index >= 0; index -= 1) {
    const paragraph = paragraphs[index];
    if (!paragraph) break;
    if (paragraph.kind === 'content' && isFooterLine.slice(paragraph.start, paragraph.end).includes(false)) {
      // A trust name or address block between a rule (____) and the disclaimer is footer too.
      const above = paragraphs[index - 1];
      if (above?.kind !== 'separator' || !isShortNameBlock(lines.slice(paragraph.start, paragraph.end))) break;
    }
    markParagraph(paragraph);
  }

  // 4. A separator line followed by a footer paragraph belongs to the footer.
  for (let index = 0; index + 1 < paragraphs.length; index += 1) {
    const paragraph = paragraphs[index];
    const next = paragraphs[index + 1];
    if (paragraph?.kind === 'separator' && next && isFooterLine[next.start]) markParagraph(paragraph);
  }

  const body: string[] = [];
  const footer: string[] = [];
  lines.forEach((line, index) => (isFooterLine[index] ? footer : body).push(line));
  if (body.join('').trim().length === 0 && footer.length > 0) {
    // All of it looked like footer: better to read a footer than to read nothing.
    return { body: lines, footer: [] };
  }
  return { body, footer };
}

/**
 * The signature starts at "-- " or below the last sign-off line. A sign-off as the first line of
 * the message ("Thanks," as a one-line reply) or with nothing but more content after it is not
 * treated as one when it would leave no text above.
 */
function findSignatureStart(lines: string[]): number {
  const delimiter = lines.findIndex((line) => SIGNATURE_DELIMITER.test(line));
  let signOff = -1;
  for (let index = lines.length - 1; index >= 0; index -= 1) {
    const line = (lines[index] ?? '').trim();
    if (line.length > 0 && line.length <= 40 && SIGN_OFF.test(line)) {
      signOff = index;
      break;
    }
  }
  const contentAbove = (index: number): boolean => lines.slice(0, index).some((line) => line.trim().length > 0);
  const candidates: number[] = [];
  if (delimiter >= 0 && contentAbove(delimiter)) candidates.push(delimiter);
  if (signOff >= 0 && contentAbove(signOff)) candidates.push(signOff + 1);
  return candidates.length > 0 ? Math.min(...candidates) : lines.length;
}

/** A few short lines with no request in them: an organisation name, an address, a phone line. */
function isShortNameBlock(block: string[]): boolean {
  const filled = block.filter((line) => line.trim().length > 0);
  return (
    filled.length > 0 &&
    filled.length <= 4 &&
    filled.every((line) => line.trim().length <= 100) &&
    !filled.some((line) => /\?|\b(please|could|would|kindly|request|ask|urgent)/i.test(line))
  );
}

function toParagraphs(lines: string[]): Paragraph[] {
  const paragraphs: Paragraph[] = [];
  let index = 0;
  while (index < lines.length) {
    while (index < lines.length && (lines[index] ?? '').trim() === '') index += 1;
    if (index >= lines.length) break;
    const start = index;
    const parts: string[] = [];
    while (index < lines.length && (lines[index] ?? '').trim() !== '') {
      const line = lines[index] ?? '';
      // A separator line inside a block is its own paragraph: it often glues a footer to the text.
      if (SEPARATOR_LINE.test(line) && parts.length > 0) break;
      parts.push(line);
      index += 1;
      if (SEPARATOR_LINE.test(line)) break;
    }
    while (index < lines.length && (lines[index] ?? '').trim() === '') index += 1;
    const looks = classifyParagraph(parts);
    // A disclaimer glued under the text without a blank line starts at its own first line.
    // An address or trust-name line in front of it stays with it.
    const found = looks === 'disclaimer' ? firstDisclaimerLine(parts) : 0;
    const offset = found > 0 && isShortNameBlock(parts.slice(0, found)) ? 0 : found;
    if (offset > 0) {
      paragraphs.push({ start, end: start + offset, kind: 'content' });
    }
    // Stock words around news of the patient do not make it a footer.
    const news = (looks === 'disclaimer' || looks === 'service') && CLINICAL_NEWS.test(parts.slice(offset).join(' '));
    paragraphs.push({ start: start + offset, end: index, kind: news ? 'content' : looks });
  }
  return paragraphs;
}

function firstDisclaimerLine(parts: string[]): number {
  const single = parts.findIndex((line) => DISCLAIMER_PHRASES.some((phrase) => phrase.test(line)));
  if (single >= 0) return single;
  // A phrase wrapped over two lines.
  for (let index = 0; index < parts.length; index += 1) {
    const window = `${parts[index] ?? ''} ${parts[index + 1] ?? ''}`;
    if (DISCLAIMER_PHRASES.some((phrase) => phrase.test(window))) return index;
  }
  return 0;
}

function classifyParagraph(parts: string[]): ParagraphKind {
  if (parts.length === 1 && SEPARATOR_LINE.test(parts[0] ?? '')) return 'separator';
  const joined = parts.join(' ').replace(/\s+/g, ' ').trim();
  if (DISCLAIMER_PHRASES.some((phrase) => phrase.test(joined))) return 'disclaimer';
  if (SERVICE_NOTICE_PHRASES.some((phrase) => phrase.test(joined))) return 'service';
  return 'content';
}
