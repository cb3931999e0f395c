/**
 * HTML e-mail body -> plain text, for the classifier. Pure, dependency-free, never throws, and
 * linear in the input: one left-to-right scan with indexOf / charCode tests, no backtracking
 * regular expression ever sees the input, and the input is cut at MAX_HTML_CHARS.
 *
 * What it keeps is what src/mail/text-sections.ts needs: the line structure. Block elements
 * end a line (p, div, headings, tables, lists and blockquote paragraphs are separated by a blank
 * line, as html-to-text does), <br> is a line break, <li> starts "* " (or "1. " in an <ol>),
 * blockquote lines get "> ", a link whose target is not its text is followed by "[target]" (a
 * reviewer must see where a link goes). Text inside <head>, <style>, <script>, <title>, comments
 * and declarations is dropped, as are images. Entities are decoded (the common
 * named ones and every numeric one); non-breaking spaces become spaces; runs of white space
 * become one space; lines are trimmed; more than one blank line in a row becomes one.
 */

/** Longer HTML is cut here before conversion (the caller reports the cut). */
export const MAX_HTML_CHARS = 2_000_000;

/** Elements whose content is not text at all. */
const SKIP_CONTENT = new Set(['head', 'style', 'script', 'title', 'template', 'noscript', 'textarea', 'select', 'object', 'svg', 'math']);

/** Elements that end a paragraph: a blank line before and after. */
const PARAGRAPH = new Set([
  'p', 'div', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'table', 'blockquote', 'hr', 'ul', 'ol', 'dl', 'pre',
  'address', 'article', 'aside', 'center', 'fieldset', 'figure', 'footer', 'form', 'header', 'main', 'nav', 'section',
]);

/** Elements that end a line. */
const LINE = new Set(['tr', 'li', 'dt', 'dd', 'caption', 'thead', 'tbody', 'tfoot', 'figcaption', 'legend', 'option']);

/** Cells: a space between them. */
const CELL = new Set(['td', 'th']);

const NAMED_ENTITIES: Record<string, string> = {
  nbsp: ' ', amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", pound: '£', euro: '€', yen: '¥', cent: '¢',
  copy: '©', reg: '®', trade: '™', deg: '°', plusmn: '±', times: '×', divide: '÷', micro: 'µ', para: '¶', sect: '§',
  middot: '·', bull: '•', hellip: '…', ndash: '–', mdash: '—', lsquo: '‘', rsquo: '’', sbquo: '‚', ldquo: '“',
  rdquo: '”', bdquo: '„', laquo: '«', raquo: '»', lsaquo: '‹', rsaquo: '›', prime: '′', Prime: '″', dagger: '†',
  Dagger: '‡', permil: '‰', frac14: '¼', frac12: '½', frac34: '¾', sup1: '¹', sup2: '²', sup3: '³', ordf: 'ª',
  ordm: 'º', iexcl: '¡', iquest: '¿', not: '¬', shy: '', zwnj: '', zwj: '', lrm: '', rlm: '', ensp: ' ', emsp: ' ',
  thinsp: ' ', larr: '←', rarr: '→', uarr: '↑', darr: '↓', harr: '↔', le: '≤', ge: '≥', ne: '≠', asymp: '≈',
  minus: '−', infin: '∞', alpha: 'α', beta: 'β', gamma: 'γ', delta: 'δ', mu: 'μ', pi: 'π', sigma: 'σ', omega: 'ω',
  Agrave: 'À', Aacute: 'Á', Acirc: 'Â', Atilde: 'Ã', Auml: 'Ä', Aring: 'Å', AElig: 'Æ', Ccedil: 'Ç', Egrave: 'È',
  Eacute: 'É', Ecirc: 'Ê', Euml: 'Ë', Igrave: 'Ì', Iacute: 'Í', Icirc: 'Î', Iuml: 'Ï', Ntilde: 'Ñ', Ograve: 'Ò',
  Oacute: 'Ó', Ocirc: 'Ô', Otilde: 'Õ', Ouml: 'Ö', Oslash: 'Ø', Ugrave: 'Ù', Uacute: 'Ú', Ucirc: 'Û', Uuml: 'Ü',
  Yacute: 'Ý', szlig: 'ß', agrave: 'à', aacute: 'á', acirc: 'â', atilde: 'ã', auml: 'ä', aring: 'å', aelig: 'æ',
  ccedil: 'ç', egrave: 'è', eacute: 'é', ecirc: 'ê', euml: 'ë', igrave: 'ì', iacute: 'í', icirc: 'î', iuml: 'ï',
  ntilde: 'ñ', ograve: 'ò', oacute: 'ó', ocirc: 'ô', otilde: 'õ', ouml: 'ö', oslash: 'ø', ugrave: 'ù', uacute: 'ú',
  ucirc: 'û', uuml: 'ü', yacute: 'ý', yuml: 'ÿ',
};

/** Entities browsers also read without the ";" (the common ones). */
const LEGACY_NO_SEMICOLON = new Set(['nbsp', 'amp', 'lt', 'gt', 'quot', 'copy', 'reg', 'pound']);

/** HTML's reading of numeric references to C1 controls: the windows-1252 characters. */
const WINDOWS_1252_C1: Record<number, number> = {
  0x80: 0x20ac, 0x82: 0x201a, 0x83: 0x0192, 0x84: 0x201e, 0x85: 0x2026, 0x86: 0x2020, 0x87: 0x2021, 0x88: 0x02c6,
  0x89: 0x2030, 0x8a: 0x0160, 0x8b: 0x2039, 0x8c: 0x0152, 0x8e: 0x017d, 0x91: 0x2018, 0x92: 0x2019, 0x93: 0x201c,
  0x94: 0x201d, 0x95: 0x2022, 0x96: 0x2013, 0x97: 0x2014, 0x98: 0x02dc, 0x99: 0x2122, 0x9a: 0x0161, 0x9b: 0x203a,
  0x9c: 0x0153, 0x9e: 0x017e, 0x9f: 0x0178,
};

const MAX_ENTITY_LENGTH = 32;
const MAX_HREF_CHARS = 2000;
const HREF = /(?:^|[\s"'])href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))/i;
/** Deeper list / quote nesting than this is read as this deep (bounds the prefixes). */
const MAX_DEPTH = 20;

/** The text of an HTML document or fragment. Never throws. */
export function htmlToText(html: string): string {
  try {
    return convert(html.length > MAX_HTML_CHARS ? html.slice(0, MAX_HTML_CHARS) : html);
  } catch {
    return '';
  }
}

class TextWriter {
  private readonly out: string[] = [];
  private line = '';
  /** Line breaks owed before the next text: max() of block requests plus one per <br>. */
  private breaks = 0;
  private space = false;
  private hasText = false;
  quoteDepth = 0;
  /** Set by <li>: written before the item's first text. */
  itemPrefix = '';
  /** The text of the open link, while one is open. */
  linkText: string | null = null;

  /** A block boundary needing `count` line breaks (2 = a blank line), not added to earlier ones. */
  block(count: number): void {
    if (this.breaks < count) this.breaks = count;
    this.space = false;
  }

  lineBreak(): void {
    this.breaks += 1;
    this.space = false;
  }

  whitespace(): void {
    this.space = true;
  }

  text(chunk: string): void {
    // chunk is decoded text: collapse its white space (incl. NBSP) into single spaces.
    let start = 0;
    for (let i = 0; i < chunk.length; i += 1) {
      const code = chunk.charCodeAt(i);
      if (code === 0x20 || code === 0x0a || code === 0x09 || code === 0x0d || code === 0x0c || code === 0xa0) {
        if (i > start) this.word(chunk.slice(start, i));
        this.space = true;
        start = i + 1;
      }
    }
    if (start < chunk.length) this.word(start === 0 ? chunk : chunk.slice(start));
  }

  private word(word: string): void {
    if (this.breaks > 0 || this.line.length === 0) {
      if (this.hasText) {
        this.out.push(this.line);
        // blank lines between text: at most one in a row
        const blank = this.breaks >= 2 ? 1 : 0;
        for (let i = 0; i < blank; i += 1) this.out.push('');
        this.line = '';
      }
      if (this.line.length === 0) this.line = this.quoteDepth > 0 ? '> '.repeat(this.quoteDepth) : '';
      this.breaks = 0;
      this.space = false;
      this.hasText = true;
      if (this.itemPrefix) {
        this.line += this.itemPrefix;
        this.itemPrefix = '';
      }
    } else if (this.space) {
      this.line += ' ';
    }
    this.space = false;
    this.line += word;
    if (this.linkText !== null && this.linkText.length < MAX_HREF_CHARS) this.linkText += this.linkText === '' ? word : ` ${word}`;
  }

  finish(): string {
    if (this.hasText) this.out.push(this.line);
    return this.out.join('\n');
  }
}

function convert(html: string): string {
  const writer = new TextWriter();
  const lists: number[] = []; // per open list: -1 for <ul>, else the next <ol> number
  let preDepth = 0;
  let href: string | null = null;
  let position = 0;
  const length = html.length;

  while (position < length) {
    const lt = html.indexOf('<', position);
    const textEnd = lt === -1 ? length : lt;
    if (textEnd > position) writeText(html, position, textEnd, writer, preDepth > 0);
    if (lt === -1) break;
    position = lt;

    const next = html.charCodeAt(lt + 1);
    if (next === 0x21 /* ! */) {
      if (html.startsWith('<!--', lt)) {
        const end = html.indexOf('-->', lt + 4);
        position = end === -1 ? length : end + 3;
      } else {
        const end = html.indexOf('>', lt + 2);
        position = end === -1 ? length : end + 1;
      }
      continue;
    }
    if (next === 0x3f /* ? */) {
      const end = html.indexOf('>', lt + 2);
      position = end === -1 ? length : end + 1;
      continue;
    }
    const closing = next === 0x2f; /* / */
    const nameStart = closing ? lt + 2 : lt + 1;
    let nameEnd = nameStart;
    while (nameEnd < length && isNameChar(html.charCodeAt(nameEnd), nameEnd === nameStart)) nameEnd += 1;
    if (nameEnd === nameStart) {
      // not a tag: "<" as text
      writeText(html, lt, lt + 1, writer, preDepth > 0);
      position = lt + 1;
      continue;
    }
    const tagEnd = findTagEnd(html, nameEnd);
    position = tagEnd;
    const name = html.slice(nameStart, nameEnd).toLowerCase();

    if (!closing && SKIP_CONTENT.has(name)) {
      if (html.charCodeAt(tagEnd - 2) === 0x2f /* self-closing */) continue;
      position = findClosingTag(html, name, tagEnd);
      continue;
    }
    if (name === 'a') {
      if (closing) {
        if (href !== null && writer.linkText !== null && href !== writer.linkText && href.replace(/^mailto:/i, '') !== writer.linkText) writer.text(` [${href}]`);
        href = null;
        writer.linkText = null;
      } else {
        href = linkTarget(html.slice(nameEnd, Math.min(tagEnd - 1, nameEnd + MAX_HREF_CHARS * 2)));
        writer.linkText = href === null ? null : '';
      }
    } else if (name === 'br') {
      writer.lineBreak();
    } else if (CELL.has(name)) {
      writer.whitespace();
    } else if (name === 'li') {
      writer.block(1);
      if (!closing) {
        const top = lists.length > 0 ? lists[lists.length - 1]! : -1;
        if (top >= 0) {
          writer.itemPrefix = `${top}. `;
          lists[lists.length - 1] = top + 1;
        } else {
          writer.itemPrefix = '* ';
        }
      } else {
        writer.itemPrefix = '';
      }
    } else if (LINE.has(name)) {
      writer.block(1);
    } else if (PARAGRAPH.has(name)) {
      writer.block(2);
      if (name === 'ul' || name === 'ol') {
        if (closing) {
          if (lists.length > 0) lists.pop();
        } else if (lists.length < MAX_DEPTH) {
          lists.push(name === 'ol' ? 1 : -1);
        }
      } else if (name === 'blockquote') {
        writer.quoteDepth = closing ? Math.max(0, writer.quoteDepth - 1) : Math.min(MAX_DEPTH, writer.quoteDepth + 1);
      } else if (name === 'pre') {
        preDepth = closing ? Math.max(0, preDepth - 1) : Math.min(MAX_DEPTH, preDepth + 1);
      }
    }
    // every other element (span, b, a, font, o:p, img ...) adds nothing
  }
  return writer.finish().trim();
}

/** A link's target worth showing: not empty, not a fragment, not script; white space removed. */
function linkTarget(attributes: string): string | null {
  const match = HREF.exec(attributes);
  if (!match) return null;
  const target = decodeEntities(match[1] ?? match[2] ?? match[3] ?? '').replace(/[\s\u00a0]+/g, '').slice(0, MAX_HREF_CHARS);
  if (target === '' || target.startsWith('#') || /^javascript:/i.test(target)) return null;
  return target;
}

function isNameChar(code: number, first: boolean): boolean {
  if ((code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a)) return true;
  if (first) return false;
  return (code >= 0x30 && code <= 0x39) || code === 0x2d || code === 0x3a || code === 0x5f || code === 0x2e;
}

/** Index just past the ">" that ends a tag whose name ends at `from`; quoted values may hold ">". */
function findTagEnd(html: string, from: number): number {
  let quote = 0;
  for (let i = from; i < html.length; i += 1) {
    const code = html.charCodeAt(i);
    if (quote !== 0) {
      if (code === quote) quote = 0;
    } else if (code === 0x3e) {
      return i + 1;
    } else if ((code === 0x22 || code === 0x27) && isAttributeValueStart(html, i)) {
      quote = code;
    }
  }
  return html.length;
}

/** A quote opens a value only right after "=" (possibly with spaces), as in name="value". */
function isAttributeValueStart(html: string, index: number): boolean {
  let i = index - 1;
  while (i > 0 && (html.charCodeAt(i) === 0x20 || html.charCodeAt(i) === 0x09 || html.charCodeAt(i) === 0x0a || html.charCodeAt(i) === 0x0d)) i -= 1;
  return html.charCodeAt(i) === 0x3d;
}

/** Index just past `</name ...>` (case-insensitive) at or after `from`; the end if there is none. */
function findClosingTag(html: string, name: string, from: number): number {
  let search = from;
  for (;;) {
    const lt = html.indexOf('</', search);
    if (lt === -1) return html.length;
    const end = lt + 2 + name.length;
    if (html.slice(lt + 2, end).toLowerCase() === name && !isNameChar(html.charCodeAt(end), false)) {
      const close = html.indexOf('>', end);
      return close === -1 ? html.length : close + 1;
    }
    search = lt + 2;
  }
}

function writeText(html: string, start: number, end: number, writer: TextWriter, pre: boolean): void {
  const raw = html.slice(start, end);
  const decoded = raw.includes('&') ? decodeEntities(raw) : raw;
  if (!pre) {
    writer.text(decoded);
    return;
  }
  // <pre>: its line breaks are line breaks
  const lines = decoded.split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    if (i > 0) writer.lineBreak();
    writer.text(lines[i]!);
  }
}

/** Decodes character references in a text run; anything unknown stays as written. */
export function decodeEntities(text: string): string {
  let out = '';
  let last = 0;
  let amp = text.indexOf('&');
  while (amp !== -1) {
    let end = amp + 1;
    const limit = Math.min(text.length, amp + MAX_ENTITY_LENGTH);
    while (end < limit && isEntityChar(text.charCodeAt(end))) end += 1;
    const body = text.slice(amp + 1, end);
    const semicolon = text.charCodeAt(end) === 0x3b;
    const value = body.length > 0 ? entityValue(body, semicolon) : null;
    if (value !== null) {
      out += text.slice(last, amp) + value;
      last = semicolon ? end + 1 : end;
    }
    amp = text.indexOf('&', Math.max(amp + 1, last));
  }
  return last === 0 ? text : out + text.slice(last);
}

function isEntityChar(code: number): boolean {
  return (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) || (code >= 0x30 && code <= 0x39) || code === 0x23;
}

function entityValue(body: string, semicolon: boolean): string | null {
  if (body.charCodeAt(0) === 0x23 /* # */) {
    const hex = body.charCodeAt(1) === 0x78 || body.charCodeAt(1) === 0x58;
    const digits = body.slice(hex ? 2 : 1);
    if (digits.length === 0 || !(hex ? /^[0-9a-fA-F]+$/ : /^[0-9]+$/).test(digits)) return null;
    return codePointText(digits.length > 8 ? 0x110000 : parseInt(digits, hex ? 16 : 10));
  }
  if (!semicolon && !LEGACY_NO_SEMICOLON.has(body)) return null;
  return Object.prototype.hasOwnProperty.call(NAMED_ENTITIES, body) ? NAMED_ENTITIES[body]! : null;
}

function codePointText(code: number): string {
  if (code >= 0x80 && code <= 0x9f) {
    const mapped = WINDOWS_1252_C1[code];
    return mapped === undefined ? '' : String.fromCodePoint(mapped);
  }
  if (code === 0x09 || code === 0x0a || code === 0x0d || code === 0x0c) return ' ';
  // NUL, other controls, surrogates and out-of-range values carry no text
  if (code < 0x20 || code === 0x7f || (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff) return '';
  return String.fromCodePoint(code);
}
