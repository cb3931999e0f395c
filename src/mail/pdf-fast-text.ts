/**
 * Text of the common simple PDF (a trust document service's letter, a scanner's cover page) without
 * loading pdf.js: unpdf costs 10-28 ms a PDF, this costs well under one.
 *
 * The text is meant to equal what unpdf's `extractText(document, { mergePages: true })` gives, so
 * the classifier sees the same cues whichever path ran. It therefore mirrors pdf.js's
 * `getTextContent` (src/core/evaluator.js): where pdf.js puts a space or a line break depends on
 * glyph positions, so positions are computed with pdf.js's own arithmetic, and objects are
 * located the way pdf.js locates them. Whenever this module cannot be certain of the outcome (an
 * unsupported feature, a font it cannot map, a comparison too close to call, cross-reference data
 * that disagrees with the file, anything malformed) it answers null, meaning "ask unpdf". It
 * never guesses.
 *
 * Pure and synchronous; node:zlib is the only dependency.
 *
 * It reads bytes, not a string of them: a PDF is mostly one large image or font stream, and a
 * latin1 string of a 200 KB file is a large V8 object in fresh memory each time (about 1 ms a PDF
 * on the servers measured, more than the rest of the reading). Only tokens become strings.
 */
import { inflateSync } from 'node:zlib';

export type FastPdfText =
  | { ok: true; text: string }
  /** What pdf.js would have thrown: only claimed where its outcome is certain. */
  | { ok: false; pdfjsError: string };

/** Larger files are rare and not "simple"; unpdf reads them. */
const MAX_INPUT_BYTES = 4 * 1024 * 1024;
/** Caps the output of all FlateDecode streams together (a zip bomb costs at most this). */
const MAX_INFLATED_BYTES = 4 * 1024 * 1024;
/**
 * This path is synchronous: more page content than this (a letter has a few KB) goes to unpdf,
 * which runs under a timeout, rather than hold the thread (about 0.5 s a MB here).
 */
const MAX_CONTENT_BYTES = 1024 * 1024;
const MAX_PAGES = 500;
const MAX_NESTING = 64;
/** ToUnicode ranges longer than this are not worth mapping here. */
const MAX_CMAP_RANGE = 0xffff;

class NotSure extends Error {}

function notSure(why: string): never {
  throw new NotSure(why);
}

/**
 * The text pdf.js (via unpdf, pages merged) would extract, a pdf.js error it would certainly
 * throw, or null when only pdf.js can tell; `onDecline` hears why (for tests and diagnosis).
 */
export function fastPdfText(bytes: Uint8Array, onDecline?: (reason: string) => void): FastPdfText | null {
  try {
    return readPdf(bytes);
  } catch (error) {
    if (!(error instanceof NotSure)) throw error;
    onDecline?.(error.message);
    return null;
  }
}

function readPdf(bytes: Uint8Array): FastPdfText {
  if (bytes.length > MAX_INPUT_BYTES) notSure('too large');
  const source = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  // 7.5.2: pdf.js looks for the header in the first 1024 bytes.
  if (!source.subarray(0, 1024).includes('%PDF-')) notSure('no header');
  // 7.6: encryption is not read here.
  if (source.includes('/Encrypt')) notSure('encrypted');
  if (!mayHaveCatalog(source)) return { ok: false, pdfjsError: 'Invalid PDF structure.' };
  return { ok: true, text: documentText(new PdfDocument(source)) };
}

/**
 * pdf.js finds the catalog through a trailer (or, rebuilding a broken file, any object with a
 * /Root key); when neither can exist anywhere in the bytes, it throws "Invalid PDF structure."
 * (XRef.indexObjects). A name could spell Root with #-escapes (7.3.5), so any /R# counts too, and
 * a cross-reference stream could point into compressed objects this check cannot see.
 */
function mayHaveCatalog(source: Buffer): boolean {
  return ['trailer', '/Root', '/R#', '/XRef'].some((word) => source.includes(word));
}

// ---------------------------------------------------------------------------------------------
// Objects (ISO 32000-1 7.3)

class PdfName {
  constructor(readonly name: string) {}
}
/** A string's bytes, one char per byte (latin1). */
class PdfString {
  constructor(readonly bytes: string) {}
}
class PdfRef {
  constructor(
    readonly num: number,
    readonly gen: number,
  ) {}
}
/** A content-stream operator or a bare keyword (obj, stream, R, true...). */
class Keyword {
  constructor(readonly word: string) {}
}
type PdfDict = Map<string, PdfValue>;
type PdfValue = number | boolean | null | PdfName | PdfString | PdfRef | PdfDict | PdfValue[];
type Token = number | PdfName | PdfString | Keyword | '[' | ']' | '<<' | '>>' | '{' | '}';

// 7.2.2: white-space and delimiter characters, as a table of character classes (the lexer's hot path).
const REGULAR = 0;
const WHITESPACE = 1;
const DELIMITER = 2;
const CHARACTER_CLASS = new Uint8Array(256);
for (const code of [0x00, 0x09, 0x0a, 0x0c, 0x0d, 0x20]) CHARACTER_CLASS[code] = WHITESPACE;
for (const code of [0x28, 0x29, 0x3c, 0x3e, 0x5b, 0x5d, 0x7b, 0x7d, 0x2f, 0x25]) CHARACTER_CLASS[code] = DELIMITER;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)$/;

function isRegular(code: number | undefined): boolean {
  return CHARACTER_CLASS[code as number] === REGULAR;
}

function isWhitespace(code: number | undefined): boolean {
  return CHARACTER_CLASS[code as number] === WHITESPACE;
}

function isDigit(code: number | undefined): boolean {
  return code !== undefined && code >= 0x30 && code <= 0x39;
}

type Latin1Buffer = Buffer & { latin1Slice(start: number, end: number): string };

/** The bytes from `start` to `end` as a string, a char per byte; clamped to the data, as String.slice is. */
function latin1(data: Buffer, start: number, end: number): string {
  const to = Math.min(end, data.length);
  const from = Math.min(Math.max(start, 0), to);
  // latin1Slice is what toString('latin1') calls, without its argument handling: tokens are many.
  return (data as Latin1Buffer).latin1Slice(from, to);
}

/** The one-character tokens [ ] { } by their byte. */
const BRACKETS: Record<number, '[' | ']' | '{' | '}'> = { 0x5b: '[', 0x5d: ']', 0x7b: '{', 0x7d: '}' };
const BACKSLASH = 0x5c;
const OPEN_PAREN = 0x28;
const CLOSE_PAREN = 0x29;
const LESS_THAN = 0x3c;
const GREATER_THAN = 0x3e;
const CR = 0x0d;
const LF = 0x0a;

/** A lexer over bytes (the file, or a decoded stream); `end` may lie past the data, which then reads as nothing lexable. */
class Lexer {
  constructor(
    readonly text: Buffer,
    public pos: number,
    readonly end = text.length,
  ) {}

  skipSpaceAndComments(): void {
    while (this.pos < this.end) {
      const code = this.text[this.pos];
      if (isWhitespace(code)) this.pos++;
      else if (code === 0x25) this.skipComment();
      else return;
    }
  }

  private skipComment(): void {
    while (this.pos < this.end) {
      const code = this.text[this.pos];
      if (code === LF || code === CR) return;
      this.pos++;
    }
  }

  next(): Token | undefined {
    this.skipSpaceAndComments();
    if (this.pos >= this.end) return undefined;
    switch (this.text[this.pos]) {
      case OPEN_PAREN:
        return this.literalString();
      case LESS_THAN:
        if (this.text[this.pos + 1] === LESS_THAN) {
          this.pos += 2;
          return '<<';
        }
        return this.hexString();
      case GREATER_THAN:
        if (this.text[this.pos + 1] !== GREATER_THAN) notSure('stray >');
        this.pos += 2;
        return '>>';
      case 0x5b:
      case 0x5d:
      case 0x7b:
      case 0x7d:
        return BRACKETS[this.text[this.pos++]!]!;
      case 0x2f:
        return this.name();
      case CLOSE_PAREN:
        return notSure('stray )');
      default:
        return this.numberOrKeyword();
    }
  }

  private regularRun(): string {
    const start = this.pos;
    while (this.pos < this.end && isRegular(this.text[this.pos])) this.pos++;
    return latin1(this.text, start, this.pos);
  }

  private numberOrKeyword(): number | Keyword {
    const word = this.regularRun();
    if (word === '') notSure('unexpected character');
    const first = word.charCodeAt(0);
    const looksNumeric = (first >= 0x30 && first <= 0x39) || first === 0x2b || first === 0x2d || first === 0x2e;
    if (!looksNumeric) return new Keyword(word);
    // pdf.js reads malformed numbers ("--5", "1.2.3") leniently; rather than copy its guesses, decline.
    if (!NUMBER.test(word)) notSure(`malformed number ${word}`);
    return Number(word);
  }

  /** 7.3.5: #xx escapes. */
  private name(): PdfName {
    this.pos++;
    const raw = this.regularRun();
    return new PdfName(raw.includes('#') ? decodeNameEscapes(raw) : raw);
  }

  /** 7.3.4.3: hexadecimal strings; white space ignored, an odd final digit taken as followed by 0. */
  private hexString(): PdfString {
    const close = this.text.indexOf(GREATER_THAN, this.pos + 1);
    if (close < 0 || close >= this.end) notSure('unterminated hex string');
    const digits = latin1(this.text, this.pos + 1, close).replace(/[\0\t\n\f\r ]+/g, '');
    if (!/^[0-9A-Fa-f]*$/.test(digits)) notSure('bad hex string');
    this.pos = close + 1;
    return new PdfString(hexToBytes(digits.length % 2 ? `${digits}0` : digits));
  }

  /** 7.3.4.2: literal strings, balanced parentheses and backslash escapes. */
  private literalString(): PdfString {
    const { text } = this;
    const out: string[] = [];
    let depth = 1;
    let pos = this.pos + 1;
    let runStart = pos;
    while (pos < this.end) {
      const code = text[pos];
      if (code === BACKSLASH) {
        out.push(latin1(text, runStart, pos));
        pos = this.escape(pos + 1, out);
        runStart = pos;
        continue;
      }
      if (code === OPEN_PAREN) depth++;
      else if (code === CLOSE_PAREN && --depth === 0) {
        out.push(latin1(text, runStart, pos));
        this.pos = pos + 1;
        return new PdfString(out.join(''));
      }
      pos++;
    }
    return notSure('unterminated string');
  }

  /** One escape after a backslash at `pos - 1`; returns where reading goes on. */
  private escape(pos: number, out: string[]): number {
    const code = this.text[pos];
    if (code === undefined) return notSure('unterminated string');
    const char = String.fromCharCode(code);
    const simple = SIMPLE_ESCAPES[char];
    if (simple !== undefined) {
      out.push(simple);
      return pos + 1;
    }
    if (isOctalDigit(code)) {
      let value = 0;
      let length = 0;
      for (; length < 3 && isOctalDigit(this.text[pos + length]); length++) value = value * 8 + this.text[pos + length]! - 0x30;
      // pdf.js keeps the low byte of an overflowing \ddd (e.g. \777).
      out.push(String.fromCharCode(value & 0xff));
      return pos + length;
    }
    if (code === CR) return this.text[pos + 1] === LF ? pos + 2 : pos + 1; // line continuation
    if (code === LF) return pos + 1;
    out.push(char); // an unknown escape stands for the character itself
    return pos + 1;
  }
}

function isOctalDigit(code: number | undefined): boolean {
  return code !== undefined && code >= 0x30 && code <= 0x37;
}

const SIMPLE_ESCAPES: Record<string, string> = {
  n: '\n',
  r: '\r',
  t: '\t',
  b: '\b',
  f: '\f',
  '(': '(',
  ')': ')',
  '\\': '\\',
};

function decodeNameEscapes(raw: string): string {
  return raw.replace(/#([0-9A-Fa-f]{2})/g, (_match, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

function hexToBytes(hex: string): string {
  let bytes = '';
  for (let i = 0; i < hex.length; i += 2) bytes += String.fromCharCode(parseInt(hex.slice(i, i + 2), 16));
  return bytes;
}

/** Reads one object; `allowRefs` is false in content streams, where "1 0 R" is not a reference. */
function parseValue(lexer: Lexer, token: Token | undefined, allowRefs: boolean, depth = 0): PdfValue {
  if (depth > MAX_NESTING) notSure('nesting too deep');
  if (token === undefined) return notSure('unexpected end');
  if (typeof token === 'number') return allowRefs ? referenceOrNumber(lexer, token) : token;
  if (token instanceof PdfName || token instanceof PdfString) return token;
  if (token === '[') return parseArray(lexer, allowRefs, depth);
  if (token === '<<') return parseDict(lexer, allowRefs, depth);
  if (token instanceof Keyword) {
    if (token.word === 'true') return true;
    if (token.word === 'false') return false;
    if (token.word === 'null') return null;
  }
  return notSure('unexpected token');
}

function referenceOrNumber(lexer: Lexer, num: number): PdfValue {
  const start = lexer.pos;
  const gen = lexer.next();
  if (typeof gen === 'number' && Number.isInteger(num) && Number.isInteger(gen)) {
    const r = lexer.next();
    if (r instanceof Keyword && r.word === 'R') return new PdfRef(num, gen);
  }
  lexer.pos = start;
  return num;
}

function parseArray(lexer: Lexer, allowRefs: boolean, depth: number): PdfValue[] {
  const items: PdfValue[] = [];
  for (;;) {
    const token = lexer.next();
    if (token === ']') return items;
    items.push(parseValue(lexer, token, allowRefs, depth + 1));
  }
}

function parseDict(lexer: Lexer, allowRefs: boolean, depth: number): PdfDict {
  const dict: PdfDict = new Map();
  for (;;) {
    const key = lexer.next();
    if (key === '>>') return dict;
    if (!(key instanceof PdfName)) return notSure('dictionary key is not a name');
    dict.set(key.name, parseValue(lexer, lexer.next(), allowRefs, depth + 1));
  }
}

function isCount(value: PdfValue | Token | undefined): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

function isDict(value: PdfValue | undefined): value is PdfDict {
  return value instanceof Map;
}

function nameOf(value: PdfValue | undefined): string | undefined {
  return value instanceof PdfName ? value.name : undefined;
}

// ---------------------------------------------------------------------------------------------
// File structure (7.5): objects are found by scanning for "N G obj", then each one fetched is
// checked against the cross-reference data pdf.js would follow to it.

interface IndexedObject {
  gen: number;
  value: PdfValue;
  /** Raw (still encoded) stream data: a view of the file's bytes. */
  stream?: Buffer;
  /** Where its "N G obj" starts, for an object not in an object stream. */
  offset?: number;
  /** The object stream holding it, and its place there (7.5.7). */
  container?: { num: number; index: number };
}

/** One entry of the cross-reference data pdf.js reads (7.5.4 table, 7.5.8.3 stream). */
type XrefEntry = { type: 'free' } | { type: 'plain'; offset: number; gen: number } | { type: 'compressed'; stream: number; index: number };

/** Where an "N G obj" or a "trailer" keyword was found: `index` is where it starts, `end` just after it. */
export interface ObjectOrTrailer {
  index: number;
  end: number;
  /** N and G of an object; absent for a trailer. */
  num?: number;
  gen?: number;
}

/**
 * Finds, from `from` on, what the regular expression
 * /(?<![0-9])(\d+)WS+(\d+)WS+obj(?!REG)|(?<!REG)trailer(?!REG)/g (WS white space, REG a regular
 * character) would match next, over bytes. Each keyword is searched for with Buffer.indexOf and
 * the numbers read backwards from "obj"; the next "trailer" is remembered, since a file may have
 * none and objects are many.
 */
export class ObjectScanner {
  private trailerFrom = Infinity;
  private trailerAt = -1;

  constructor(private readonly source: Buffer) {}

  next(from: number): ObjectOrTrailer | undefined {
    const object = this.nextObject(from);
    const trailer = this.nextTrailer(from);
    if (trailer >= 0 && (object === undefined || trailer < object.index)) return { index: trailer, end: trailer + 7 };
    return object;
  }

  private nextObject(from: number): ObjectOrTrailer | undefined {
    const { source } = this;
    for (let at = source.indexOf('obj', from); at >= 0; at = source.indexOf('obj', at + 1)) {
      // Out of range, a byte reads as undefined, which is not regular: the end of the data ends a keyword.
      if (isRegular(source[at + 3])) continue;
      let i = at - 1;
      const genEnd = (i = skipBack(source, i, isWhitespace)) + 1;
      if (genEnd === at) continue;
      const genStart = (i = skipBack(source, i, isDigit)) + 1;
      if (genStart === genEnd) continue;
      const numEnd = (i = skipBack(source, i, isWhitespace)) + 1;
      if (numEnd === genStart) continue;
      const numStart = skipBack(source, i, isDigit) + 1;
      if (numStart === numEnd || numStart < from) continue;
      return { index: numStart, end: at + 3, num: Number(latin1(source, numStart, numEnd)), gen: Number(latin1(source, genStart, genEnd)) };
    }
    return undefined;
  }

  /** The next "trailer" standing alone at or after `from`, or -1; the last search answers for any later `from` up to what it found. */
  private nextTrailer(from: number): number {
    const { source } = this;
    const searched = from >= this.trailerFrom && (this.trailerAt < 0 || this.trailerAt >= from);
    if (searched) return this.trailerAt;
    let at = source.indexOf('trailer', from);
    while (at >= 0 && (isRegular(source[at - 1]) || isRegular(source[at + 7]))) at = source.indexOf('trailer', at + 1);
    this.trailerFrom = from;
    this.trailerAt = at;
    return at;
  }
}

/** The last index before `i` (inclusive) whose byte fails `test`; -1 at the start of the data. */
function skipBack(data: Buffer, i: number, test: (code: number | undefined) => boolean): number {
  while (i >= 0 && test(data[i])) i--;
  return i;
}

class PdfDocument {
  private readonly objects = new Map<number, IndexedObject>();
  private readonly objectsAt = new Map<number, IndexedObject>();
  private readonly xref = new Map<number, XrefEntry>();
  /** The trailer of the newest cross-reference section, the one pdf.js reads (its topDict). */
  trailer: PdfDict | undefined;
  private inflatedBytes = 0;
  private readonly decoded = new Map<IndexedObject, Buffer>();
  /** pdf.js counts offsets from the %PDF- header (readers allow junk before it). */
  private readonly headerOffset: number;

  constructor(readonly source: Buffer) {
    this.headerOffset = Math.max(0, source.indexOf('%PDF-'));
    const objectStreams = this.index();
    this.readCrossReference();
    for (const num of objectStreams) this.indexObjectStream(num);
  }

  /** Indexes the objects outside object streams; returns the object streams' numbers. */
  private index(): number[] {
    const scan = new ObjectScanner(this.source);
    const objectStreams: number[] = [];
    // Each search goes on after what the last one found was read through, its stream data included.
    let from = 0;
    for (let match = scan.next(from); match; match = scan.next(from)) {
      const lexer = new Lexer(this.source, match.end);
      if (match.num === undefined) {
        parseValue(lexer, lexer.next(), true); // read through it; pdf.js finds it from startxref
      } else {
        const num = match.num;
        const object = { ...this.readObject(lexer, match.gen!), offset: match.index };
        // The cross-reference data says which definition counts (checked when fetched).
        this.objects.set(num, object);
        this.objectsAt.set(match.index, object);
        const dict = isDict(object.value) ? object.value : undefined;
        // Annex F: pdf.js reads a linearized file from its hint tables on; not followed here.
        if (dict?.has('Linearized')) notSure('linearized file');
        if (dict && nameOf(dict.get('Type')) === 'ObjStm') objectStreams.push(num);
      }
      from = lexer.pos;
    }
    return objectStreams;
  }

  /**
   * 7.5.5: startxref names the newest cross-reference section; /Prev the older ones. pdf.js locates
   * every object it fetches through them, and fails (or rebuilds) where they disagree with the
   * file, so they are read here to check each fetched object against them.
   */
  private readCrossReference(): void {
    const { source } = this;
    const keyword = source.lastIndexOf('startxref');
    // pdf.js looks for startxref in the last 1024 bytes only.
    if (keyword < 0 || keyword < source.length - 1024) notSure('no startxref near the end');
    const digits = /^[\0\t\n\f\r ]*(\d+)/.exec(latin1(source, keyword + 9, keyword + 40))?.[1];
    let position: number | undefined = digits === undefined ? notSure('no startxref offset') : this.headerOffset + Number(digits);
    const seen = new Set<number>();
    while (position !== undefined) {
      if (seen.has(position) || seen.size > 64) notSure('cross-reference loop');
      seen.add(position);
      const trailer = this.readXrefSection(position);
      this.trailer ??= trailer;
      if (trailer.has('XRefStm')) notSure('hybrid cross-reference');
      const prev = this.resolve(trailer.get('Prev'));
      position = prev === undefined ? undefined : isCount(prev) ? this.headerOffset + prev : notSure('bad /Prev');
    }
  }

  /** One section: a table and its trailer, or a cross-reference stream. Newer entries win. */
  private readXrefSection(position: number): PdfDict {
    const lexer = new Lexer(this.source, position);
    const first = lexer.next();
    if (first instanceof Keyword && first.word === 'xref') return this.readXrefTable(lexer);
    const start = new Lexer(this.source, position);
    start.skipSpaceAndComments();
    const stream = this.objectsAt.get(start.pos);
    if (!stream?.stream?.length || !isDict(stream.value) || nameOf(stream.value.get('Type')) !== 'XRef') return notSure('startxref points at nothing');
    this.readXrefStream(stream.value, stream.stream);
    return stream.value;
  }

  /** 7.5.4: subsections "first count", then "offset generation n|f" for each object. */
  private readXrefTable(lexer: Lexer): PdfDict {
    for (let token = lexer.next(); !(token instanceof Keyword && token.word === 'trailer'); token = lexer.next()) {
      const count = lexer.next();
      if (!isCount(token) || !isCount(count)) return notSure('bad cross-reference table');
      for (let i = 0; i < count; i++) {
        const offset = lexer.next();
        const gen = lexer.next();
        const kind = lexer.next();
        if (!isCount(offset) || !isCount(gen) || !(kind instanceof Keyword && (kind.word === 'n' || kind.word === 'f'))) {
          notSure('bad cross-reference entry');
        }
        this.addXrefEntry(token + i, kind.word === 'f' ? { type: 'free' } : { type: 'plain', offset, gen });
      }
    }
    const trailer = parseValue(lexer, lexer.next(), true);
    return isDict(trailer) ? trailer : notSure('bad trailer');
  }

  /** 7.5.8.3: /W field widths, /Index ranges, each entry's type defaulting to 1. */
  private readXrefStream(dict: PdfDict, raw: Buffer): void {
    const widths = this.resolve(dict.get('W'));
    if (!Array.isArray(widths) || widths.length !== 3 || !widths.every((w) => isCount(w) && w <= 8)) notSure('bad /W');
    const [typeWidth, field2Width, field3Width] = widths as number[] as [number, number, number];
    const size = this.resolve(dict.get('Size'));
    const index = this.resolve(dict.get('Index')) ?? [0, size ?? 0];
    if (!Array.isArray(index) || index.length % 2 !== 0 || !index.every(isCount)) return notSure('bad /Index');
    const data = this.decode(dict, raw, true);
    const entryLength = typeWidth + field2Width + field3Width;
    let at = 0;
    for (let range = 0; range < index.length; range += 2) {
      const [first, count] = index.slice(range, range + 2) as [number, number];
      for (let i = 0; i < count; i++, at += entryLength) {
        if (at + entryLength > data.length) notSure('short cross-reference stream');
        const type = typeWidth === 0 ? 1 : readField(data, at, typeWidth);
        const field2 = readField(data, at + typeWidth, field2Width);
        const field3 = readField(data, at + typeWidth + field2Width, field3Width);
        if (type === 0) this.addXrefEntry(first + i, { type: 'free' });
        else if (type === 1) this.addXrefEntry(first + i, { type: 'plain', offset: field2, gen: field3 });
        else if (type === 2) this.addXrefEntry(first + i, { type: 'compressed', stream: field2, index: field3 });
        else notSure('unknown cross-reference entry type');
      }
    }
  }

  private addXrefEntry(num: number, entry: XrefEntry): void {
    if (!this.xref.has(num)) this.xref.set(num, entry);
  }

  /** Whether pdf.js, following the cross-reference data, would fetch this very definition. */
  private checkAgainstXref(ref: PdfRef, found: IndexedObject): void {
    const entry = this.xref.get(ref.num);
    if (!entry || entry.type === 'free') return notSure('object free or absent in the cross-reference data');
    if (entry.type === 'compressed') {
      if (ref.gen !== 0 || found.container?.num !== entry.stream || found.container.index !== entry.index) notSure('compressed entry disagrees');
      return;
    }
    // pdf.js reads "N G obj" at the offset, skipping white space and comments before it.
    const lexer = new Lexer(this.source, this.headerOffset + entry.offset);
    lexer.skipSpaceAndComments();
    if (entry.gen !== ref.gen || found.offset !== lexer.pos) notSure('cross-reference offset disagrees');
  }

  /** 7.5.7: /N pairs "object-number offset", then the objects from /First on, all generation 0. */
  private indexObjectStream(num: number): void {
    const entry = this.objects.get(num);
    const dict = entry?.value;
    if (!entry || !isDict(dict)) return notSure('object stream vanished');
    const count = this.resolve(dict.get('N'));
    const first = this.resolve(dict.get('First'));
    if (!isCount(count) || !isCount(first)) notSure('bad object stream header');
    const data = this.streamData(new PdfRef(num, entry.gen));
    const header = new Lexer(data, 0, first);
    for (let i = 0; i < count; i++) {
      const objectNumber = header.next();
      const offset = header.next();
      if (!isCount(objectNumber) || !isCount(offset)) notSure('bad object stream header');
      // Defined twice: only the cross-reference stream, not read here, says which one counts.
      if (this.objects.has(objectNumber)) notSure('object both compressed and not');
      const lexer = new Lexer(data, first + offset);
      this.objects.set(objectNumber, { gen: 0, value: parseValue(lexer, lexer.next(), true), container: { num, index: i } });
    }
  }

  /** The dictionary of the stream `ref` points to. */
  streamDict(ref: PdfValue | undefined): PdfDict {
    const entry = ref instanceof PdfRef ? this.entry(ref) : undefined;
    if (entry?.stream === undefined || !isDict(entry.value)) return notSure('not a stream');
    return entry.value;
  }

  private readObject(lexer: Lexer, gen: number): IndexedObject {
    const value = parseValue(lexer, lexer.next(), true);
    const after = lexer.next();
    if (after instanceof Keyword && after.word === 'endobj') return { gen, value };
    if (!(after instanceof Keyword && after.word === 'stream') || !isDict(value)) return notSure('object without endobj');
    const stream = this.readStreamData(lexer, value);
    return { gen, value, stream };
  }

  /** 7.3.8.1: data starts after the EOL that follows "stream"; /Length says how long it is. */
  private readStreamData(lexer: Lexer, dict: PdfDict): Buffer {
    const { source } = this;
    let start = lexer.pos;
    if (source[start] === CR) start++;
    if (source[start] === LF) start++;
    const declared = dict.get('Length');
    let end = typeof declared === 'number' && Number.isInteger(declared) && declared >= 0 ? start + declared : -1;
    if (end < 0 || !/^[\0\t\n\f\r ]*endstream/.test(latin1(source, end, end + 20))) {
      // A wrong or indirect /Length: like pdf.js, look for the keyword instead.
      end = source.indexOf('endstream', start);
      if (end < 0) notSure('stream without endstream');
    }
    const keyword = source.indexOf('endstream', end);
    lexer.pos = keyword + 'endstream'.length;
    const closing = lexer.next();
    if (!(closing instanceof Keyword && closing.word === 'endobj')) notSure('stream object without endobj');
    return source.subarray(start, end);
  }

  private entry(ref: PdfRef): IndexedObject {
    const found = this.objects.get(ref.num);
    if (!found || found.gen !== ref.gen) notSure(`missing object ${ref.num} ${ref.gen}`);
    this.checkAgainstXref(ref, found);
    return found;
  }

  resolve(value: PdfValue | undefined): PdfValue | undefined {
    for (let hops = 0; value instanceof PdfRef; hops++) {
      if (hops > MAX_NESTING) notSure('reference loop');
      value = this.entry(value).value;
    }
    return value;
  }

  dict(value: PdfValue | undefined): PdfDict | undefined {
    const resolved = this.resolve(value);
    return isDict(resolved) ? resolved : undefined;
  }

  get(dict: PdfDict, key: string): PdfValue | undefined {
    return this.resolve(dict.get(key));
  }

  /** Decoded data of the stream `ref` points to. */
  streamData(ref: PdfValue | undefined): Buffer {
    if (!(ref instanceof PdfRef)) return notSure('stream is not a reference');
    const entry = this.entry(ref);
    if (entry.stream === undefined || !isDict(entry.value)) return notSure('not a stream');
    let data = this.decoded.get(entry);
    if (data === undefined) {
      data = this.decode(entry.value, entry.stream);
      this.decoded.set(entry, data);
    }
    return data;
  }

  /** 7.4: only no filter or FlateDecode without a predictor. */
  /** 7.4: no filter or FlateDecode; PNG predictors only where cross-reference streams use them. */
  private decode(dict: PdfDict, raw: Buffer, allowPredictor = false): Buffer {
    const filter = this.resolve(dict.get('Filter'));
    const filters = Array.isArray(filter) ? filter.map((f) => this.resolve(f)) : filter === undefined ? [] : [filter];
    if (filters.length === 0) return raw;
    if (filters.length > 1 || nameOf(filters[0]) !== 'FlateDecode') return notSure('unsupported filter');
    let parms = this.resolve(dict.get('DecodeParms'));
    if (Array.isArray(parms) && parms.length === 1) parms = this.resolve(parms[0]);
    const inflated = this.inflate(raw);
    if (parms === undefined || parms === null) return inflated;
    const predictor = isDict(parms) ? this.resolve(parms.get('Predictor')) ?? 1 : undefined;
    if (predictor === 1) return inflated;
    if (!allowPredictor || !isDict(parms) || typeof predictor !== 'number' || predictor < 10 || predictor > 15) return notSure('decode parameters');
    const columns = this.resolve(parms.get('Columns')) ?? 1;
    const colors = this.resolve(parms.get('Colors')) ?? 1;
    const bits = this.resolve(parms.get('BitsPerComponent')) ?? 8;
    if (!isCount(columns) || colors !== 1 || bits !== 8) return notSure('predictor parameters');
    return undoPngPredictor(inflated, columns);
  }

  private inflate(raw: Buffer): Buffer {
    const budget = MAX_INFLATED_BYTES - this.inflatedBytes;
    let output: Buffer;
    try {
      output = inflateSync(raw, { maxOutputLength: Math.max(budget, 1) });
    } catch {
      // Corrupt data, or more than the budget: pdf.js decodes what it can, so only it knows the text.
      return notSure('inflate failed');
    }
    this.inflatedBytes += output.length;
    return output;
  }
}

/** A big-endian number of `width` bytes (7.5.8.3); a width of 0 gives 0. */
function readField(data: Buffer, at: number, width: number): number {
  let value = 0;
  for (let i = 0; i < width; i++) value = value * 256 + data[at + i]!;
  return value;
}

/**
 * 7.4.4.4 PNG predictors (one byte a pixel, as cross-reference streams have them): each row is a
 * filter type byte and `columns` bytes, predicted from the byte to the left and the row above.
 */
function undoPngPredictor(data: Buffer, columns: number): Buffer {
  const rowLength = columns + 1;
  if (columns === 0 || data.length % rowLength !== 0) notSure('predicted data of odd length');
  const out = Buffer.alloc((data.length / rowLength) * columns);
  for (let row = 0; row * rowLength < data.length; row++) {
    const filter = data[row * rowLength]!;
    for (let col = 0; col < columns; col++) {
      const raw = data[row * rowLength + 1 + col]!;
      const left = col > 0 ? (out[row * columns + col - 1] ?? 0) : 0;
      const up = row > 0 ? (out[(row - 1) * columns + col] ?? 0) : 0;
      const upLeft = row > 0 && col > 0 ? (out[(row - 1) * columns + col - 1] ?? 0) : 0;
      out[row * columns + col] = (raw + pngPrediction(filter, left, up, upLeft)) & 0xff;
    }
  }
  return out;
}

function pngPrediction(filter: number, left: number, up: number, upLeft: number): number {
  switch (filter) {
    case 0:
      return 0;
    case 1:
      return left;
    case 2:
      return up;
    case 3:
      return (left + up) >> 1;
    case 4: {
      const estimate = left + up - upLeft;
      const [toLeft, toUp, toUpLeft] = [Math.abs(estimate - left), Math.abs(estimate - up), Math.abs(estimate - upLeft)];
      return toLeft <= toUp && toLeft <= toUpLeft ? left : toUp <= toUpLeft ? up : upLeft;
    }
    default:
      return notSure('unknown PNG filter');
  }
}

// ---------------------------------------------------------------------------------------------
// Pages (7.7.3)

type Box = [number, number, number, number];

interface Page {
  dict: PdfDict;
  resources: PdfDict;
  /** pdf.js's Page.view: the crop box within the media box; glyphs outside it are dropped. */
  view: Box;
}

interface Inherited {
  resources: PdfValue | undefined;
  mediaBox: PdfValue | undefined;
  cropBox: PdfValue | undefined;
}

function documentText(document: PdfDocument): string {
  let contentBytes = 0;
  const pageTexts = pagesOf(document).map((page) => {
    const content = pageContent(document, page);
    contentBytes += content.length;
    if (contentBytes > MAX_CONTENT_BYTES) notSure('too much page content');
    return pageText(document, page, content);
  });
  return normalizeUnicode(normalizeMergedText(pageTexts));
}

/** unpdf's normalizeMergedText (extractText with mergePages), verbatim. */
function normalizeMergedText(texts: string[]): string {
  return texts
    .join('\n')
    .replace(/[^\S\n]+/g, ' ')
    .replace(/ ?\n ?/g, '\n')
    .replace(/\n{3,}/g, '\n\n');
}

function pagesOf(document: PdfDocument): Page[] {
  const trailer = document.trailer ?? notSure('no trailer');
  const catalog = document.dict(trailer.get('Root')) ?? notSure('no catalog');
  const root = catalog.get('Pages');
  if (!(root instanceof PdfRef)) return notSure('no page tree');
  const pages: Page[] = [];
  collectPages(document, root, { resources: undefined, mediaBox: undefined, cropBox: undefined }, pages, new Set(), 0);
  return pages;
}


/**
 * Walks the page tree in order. pdf.js finds page N through the /Count of each node, so every
 * /Count must agree with the leaves actually found, or pdf.js could see different pages.
 */
function collectPages(document: PdfDocument, ref: PdfRef, inherited: Inherited, pages: Page[], seen: Set<number>, depth: number): number {
  if (seen.has(ref.num) || depth > MAX_NESTING) notSure('page tree loop');
  seen.add(ref.num);
  const node = document.dict(ref) ?? notSure('page node is not a dictionary');
  const here: Inherited = {
    resources: node.get('Resources') ?? inherited.resources,
    mediaBox: node.get('MediaBox') ?? inherited.mediaBox,
    cropBox: node.get('CropBox') ?? inherited.cropBox,
  };
  const type = nameOf(document.get(node, 'Type'));
  if (type === 'Page') {
    if (pages.length >= MAX_PAGES) notSure('too many pages');
    pages.push({ dict: node, resources: document.dict(here.resources) ?? new Map(), view: viewBox(document, here) });
    return 1;
  }
  if (type !== 'Pages') return notSure('page tree node of unknown type');
  const kids = document.get(node, 'Kids');
  if (!Array.isArray(kids)) return notSure('pages without kids');
  let leaves = 0;
  for (const kid of kids) {
    if (!(kid instanceof PdfRef)) notSure('kid is not a reference');
    leaves += collectPages(document, kid, here, pages, seen, depth + 1);
  }
  if (document.get(node, 'Count') !== leaves) notSure('page count disagrees with the tree');
  return leaves;
}

const LETTER_SIZE_MEDIABOX: Box = [0, 0, 612, 792];

/** pdf.js Page.view: the crop box intersected with the media box, each normalized (14.11.2). */
function viewBox(document: PdfDocument, inherited: Inherited): Box {
  const mediaBox = boundingBox(document, inherited.mediaBox) ?? LETTER_SIZE_MEDIABOX;
  const cropBox = boundingBox(document, inherited.cropBox) ?? mediaBox;
  const view: Box = [
    Math.max(cropBox[0], mediaBox[0]),
    Math.max(cropBox[1], mediaBox[1]),
    Math.min(cropBox[2], mediaBox[2]),
    Math.min(cropBox[3], mediaBox[3]),
  ];
  return view[2] - view[0] > 0 && view[3] - view[1] > 0 ? view : mediaBox;
}

function boundingBox(document: PdfDocument, value: PdfValue | undefined): Box | undefined {
  const box = document.resolve(value);
  if (box === undefined) return undefined;
  if (!Array.isArray(box) || box.length !== 4) return notSure('odd page box');
  const [x1, y1, x2, y2] = box.map((n) => document.resolve(n));
  if (typeof x1 !== 'number' || typeof y1 !== 'number' || typeof x2 !== 'number' || typeof y2 !== 'number') {
    return notSure('odd page box');
  }
  const normalized: Box = [Math.min(x1, x2), Math.min(y1, y2), Math.max(x1, x2), Math.max(y1, y2)];
  return normalized[2] - normalized[0] > 0 && normalized[3] - normalized[1] > 0 ? normalized : undefined;
}

/** The page's content streams, decoded and joined. */
function pageContent(document: PdfDocument, page: Page): Buffer {
  const contents = document.resolve(page.dict.get('Contents'));
  const refs = contents === undefined || contents === null ? [] : Array.isArray(contents) ? contents : [page.dict.get('Contents') ?? null];
  // pdf.js merges a content stream's own /Resources into the page's; not followed here.
  if (refs.some((ref) => document.streamDict(ref).has('Resources'))) notSure('resources on a content stream');
  // pdf.js concatenates the streams of a /Contents array with nothing between them (7.8.2).
  return refs.length === 1 ? document.streamData(refs[0]) : Buffer.concat(refs.map((ref) => document.streamData(ref)));
}

function pageText(document: PdfDocument, page: Page, data: Buffer): string {
  const builder = new PageTextBuilder(document, page);
  runContentStream(data, builder);
  return builder.finish();
}

// ---------------------------------------------------------------------------------------------
// Fonts (9.5-9.10)

interface Glyph {
  unicode: string;
  /** pdf.js draws no whitespace glyph; it only remembers that one came. */
  whitespace: boolean;
  /** Advance in glyph space (thousandths of the font size). */
  width: number;
}

interface FontModel {
  /** pdf.js's font.name: two resource names for one font of this name do not start a new text item. */
  name: string;
  bytesPerCode: 1 | 2;
  glyph(code: number): Glyph;
}

/** fontMatrix[0] of every font read here (9.2.4: glyph space is 1/1000 of text space). */
const FONT_MATRIX_SCALE = 0.001;
const FLAG_SYMBOLIC = 4;
const FLAG_NONSYMBOLIC = 32;

/**
 * The standard 14 fonts (9.6.2.2) may come without /Widths; pdf.js then takes widths by glyph name
 * from its own metrics (PartialEvaluator getBaseFontMetrics), copied below for the Latin glyphs.
 */
function standardFontWidths(baseFont: string): ((glyphName: string | undefined) => number) | undefined {
  if (/^Courier(-Bold|-Oblique|-BoldOblique)?$/.test(baseFont)) return () => 600;
  const table = STANDARD_WIDTH_TABLES[baseFont.replace(/Oblique$/, '').replace(/-$/, '')];
  if (table === undefined) return undefined;
  return (glyphName) => {
    const width = glyphName === undefined ? undefined : standardWidths(table).get(glyphName);
    return width ?? notSure('glyph outside the standard Latin set');
  };
}

function loadFont(document: PdfDocument, fontRef: PdfValue | undefined): FontModel {
  const font = document.dict(fontRef) ?? notSure('font is not a dictionary');
  const subtype = nameOf(document.get(font, 'Subtype'));
  const baseFont = nameOf(document.get(font, 'BaseFont')) ?? '';
  // pdf.js reroutes some CJK-named fonts and symbol fonts to other encodings.
  if (/[^\x20-\x7e]/.test(baseFont) || /Symbol|Dingbats|Wingdings/i.test(baseFont)) notSure('special font name');
  if (subtype === 'Type0') return loadCompositeFont(document, font);
  if (subtype === 'Type1' || subtype === 'TrueType') return loadSimpleFont(document, font, baseFont, subtype);
  return notSure(`font subtype ${subtype ?? 'missing'}`);
}

/**
 * pdf.js's font.name, which decides whether a change of font starts a new text item: the
 * descriptor's /FontName, or /BaseFont when they agree (pdf.js's rules when they do not are not
 * copied here).
 */
function pdfjsFontName(document: PdfDocument, baseFont: string, descriptor: PdfDict | undefined): string {
  const fontName = descriptor ? document.get(descriptor, 'FontName') : undefined;
  if (fontName !== undefined && nameOf(fontName) !== baseFont) notSure('FontName differs from BaseFont');
  return baseFont;
}

/** 9.7: a Type0 font, here only Identity-H with a ToUnicode CMap (two-byte codes, CID = code). */
function loadCompositeFont(document: PdfDocument, font: PdfDict): FontModel {
  if (nameOf(document.get(font, 'Encoding')) !== 'Identity-H') notSure('composite font encoding');
  const descendants = document.get(font, 'DescendantFonts');
  const descendant = Array.isArray(descendants) && descendants.length === 1 ? document.dict(descendants[0]) : undefined;
  if (!descendant) return notSure('no descendant font');
  const descriptor = document.dict(descendant.get('FontDescriptor')) ?? notSure('CID font without descriptor');
  declineCompactFontFile(descriptor);
  // pdf.js names a composite font after its descendant.
  const name = pdfjsFontName(document, nameOf(document.get(descendant, 'BaseFont')) ?? '', descriptor);
  const toUnicode = readToUnicode(document, font) ?? notSure('composite font without ToUnicode');
  const widths = compositeWidths(document, descendant);
  const defaultWidth = document.get(descendant, 'DW');
  const fallbackWidth = typeof defaultWidth === 'number' ? Math.ceil(defaultWidth) : 1000;
  return cachedGlyphs(name, 2, (code) => {
    const unicode = toUnicode.get(code) || notSure('code not in ToUnicode');
    return { unicode, width: widths.get(code) ?? fallbackWidth };
  });
}

/** 9.7.4.3 /W: `c [w1 w2 ...]` and `cFirst cLast w`, read the way pdf.js extractWidths does. */
function compositeWidths(document: PdfDocument, descendant: PdfDict): Map<number, number> {
  const widths = new Map<number, number>();
  const w = document.get(descendant, 'W');
  if (!Array.isArray(w)) return widths;
  for (let i = 0; i < w.length; i++) {
    let first = document.resolve(w[i++]);
    if (typeof first !== 'number' || !Number.isInteger(first)) break;
    const next = document.resolve(w[i]);
    if (Array.isArray(next)) {
      for (const item of next) {
        const width = document.resolve(item);
        if (typeof width === 'number') widths.set(first, width);
        first++;
      }
    } else if (typeof next === 'number' && Number.isInteger(next)) {
      const width = document.resolve(w[++i]);
      if (typeof width !== 'number') continue;
      if (next - first > MAX_CMAP_RANGE) notSure('width range too long');
      for (let cid = first; cid <= next; cid++) widths.set(cid, width);
    } else break;
  }
  return widths;
}

/**
 * A CFF or OpenType program (FontFile3, 9.9) may carry its own FontMatrix, which pdf.js then uses
 * to scale advances; the arithmetic here assumes 1/1000.
 */
function declineCompactFontFile(descriptor: PdfDict | undefined): void {
  if (descriptor?.has('FontFile3')) notSure('CFF or OpenType font program');
}

function loadSimpleFont(document: PdfDocument, font: PdfDict, baseFont: string, subtype: string): FontModel {
  const descriptor = document.dict(font.get('FontDescriptor'));
  declineCompactFontFile(descriptor);
  const name = pdfjsFontName(document, baseFont, descriptor);
  const embedded = descriptor !== undefined && ['FontFile', 'FontFile2'].some((key) => descriptor.has(key));
  const standard = descriptor === undefined ? standardFontWidths(baseFont) : undefined;
  if (!descriptor && !standard) notSure('non-standard font without descriptor');
  // pdf.js gives a standard font without descriptor the Nonsymbolic flag.
  const flagsValue = descriptor ? document.get(descriptor, 'Flags') : FLAG_NONSYMBOLIC;
  const flags = typeof flagsValue === 'number' ? flagsValue : 0;
  const toUnicode = readToUnicode(document, font);
  const encoding = simpleFontEncoding(document, font, subtype, flags, embedded);
  if (!encoding && !toUnicode) notSure('encoding only pdf.js knows');
  // With a ToUnicode CMap, pdf.js falls back to the encoding only when the font declares one.
  const encodingGivesUnicode = encoding !== undefined && (!toUnicode || encoding.declared);
  const width = simpleFontWidths(document, font, descriptor, standard);
  const type1Program = descriptor?.has('FontFile') ?? false;
  return cachedGlyphs(name, 1, (code) => {
    const glyphName = encoding?.glyphNames[code] || undefined;
    if (subtype === 'Type1' && !embedded) declineUnnamedType1Code(encoding, code);
    // pdf.js fills codes the PDF leaves to a Type 1 program's own encoding from that program.
    if (type1Program && !toUnicode && !encoding?.base && !encoding?.differences.has(code)) notSure('built-in encoding');
    const mapped = toUnicode?.get(code);
    // pdf.js: toUnicode.get(code) || fallbackToUnicode.get(code) || the code itself (declined).
    if (mapped === '') notSure('empty ToUnicode value');
    const fromEncoding = encodingGivesUnicode && glyphName ? glyphUnicode(glyphName, code) : undefined;
    const unicode = mapped || fromEncoding || notSure('unmapped character code');
    return { unicode, width: width(code, glyphName) };
  });
}

/**
 * pdf.js draws a code of a non-embedded Type 1 font that has no glyph name (or .notdef) as a
 * space, whatever ToUnicode says (Font._charToGlyph, missingFile); not followed here.
 */
function declineUnnamedType1Code(encoding: SimpleEncoding | undefined, code: number): void {
  const name = encoding?.differences.get(code) ?? encoding?.glyphNames[code];
  if (!name || name === '.notdef') notSure('unnamed code of a Type 1 font');
}

interface SimpleEncoding {
  glyphNames: string[];
  /** pdf.js hasEncoding: an honoured base encoding or /Differences. */
  declared: boolean;
  /** The base encoding pdf.js honours (baseEncodingName), if any. */
  base: string | undefined;
  /** /Differences as written, .notdef included. */
  differences: Map<number, string>;
}

/**
 * The glyph name of each code as pdf.js derives it (PartialEvaluator extractDataStructures), or
 * undefined when only pdf.js can tell (a font's built-in encoding, symbolic fonts, odd names).
 */
function simpleFontEncoding(
  document: PdfDocument,
  font: PdfDict,
  subtype: string,
  flags: number,
  embedded: boolean,
): SimpleEncoding | undefined {
  const encoding = document.get(font, 'Encoding');
  let baseName: string | undefined;
  let differences: PdfValue[] = [];
  if (encoding instanceof PdfName) baseName = encoding.name;
  else if (isDict(encoding)) {
    baseName = nameOf(document.get(encoding, 'BaseEncoding'));
    const diffs = document.get(encoding, 'Differences');
    differences = Array.isArray(diffs) ? diffs : [];
  } else if (encoding !== undefined) return undefined;
  // pdf.js honours only these base encoding names; for StandardEncoding it falls to the default.
  const honoured = baseName === 'WinAnsiEncoding' || baseName === 'MacRomanEncoding' ? baseName : undefined;
  if (baseName !== undefined && baseName !== 'StandardEncoding' && !honoured) return undefined;
  const declared = honoured !== undefined || differences.length > 0;
  // Without an encoding an embedded font brings its own, which only pdf.js reads.
  if (embedded && !declared) return undefined;
  let symbolic = (flags & FLAG_SYMBOLIC) !== 0;
  const nonsymbolic = (flags & FLAG_NONSYMBOLIC) !== 0;
  if (subtype === 'TrueType' && symbolic && nonsymbolic && differences.length > 0) symbolic = false;
  if (symbolic) return undefined;
  const defaultName = subtype === 'TrueType' && !nonsymbolic ? 'WinAnsiEncoding' : 'StandardEncoding';
  const glyphNames = [...encodingNames(honoured ?? defaultName)];
  const differenceNames = readDifferences(document, differences);
  // pdf.js keeps the base encoding's glyph where Differences says .notdef.
  for (const [code, glyph] of differenceNames) if (glyph !== '.notdef') glyphNames[code] = glyph;
  return { glyphNames, declared, base: honoured, differences: differenceNames };
}

/** 9.6.6.1 /Differences: a code, then the glyph names for it and the codes after it. */
function readDifferences(document: PdfDocument, differences: PdfValue[]): Map<number, string> {
  const names = new Map<number, string>();
  let code = 0;
  for (const item of differences) {
    const value = document.resolve(item);
    if (typeof value === 'number') code = value;
    else if (value instanceof PdfName) {
      if (!Number.isInteger(code) || code < 0 || code > 255) notSure('bad Differences code');
      names.set(code++, value.name);
    } else notSure('bad Differences entry');
  }
  return names;
}

type WidthOf = (code: number, glyphName: string | undefined) => number;

/** 9.6.2.1 /Widths from /FirstChar (pdf.js: /MissingWidth, else 0, for other codes), or standard metrics. */
function simpleFontWidths(
  document: PdfDocument,
  font: PdfDict,
  descriptor: PdfDict | undefined,
  standard: ((glyphName: string | undefined) => number) | undefined,
): WidthOf {
  const widths = document.get(font, 'Widths');
  if (Array.isArray(widths)) {
    const firstChar = document.get(font, 'FirstChar');
    const first = typeof firstChar === 'number' && Number.isInteger(firstChar) ? firstChar : 0;
    // Without a descriptor pdf.js falls back to its metrics' default width, not copied here.
    const missing = descriptor ? document.get(descriptor, 'MissingWidth') : undefined;
    const fallback = descriptor ? (typeof missing === 'number' ? missing : 0) : undefined;
    const table = widths.map((w) => document.resolve(w));
    return (code) => {
      const width = table[code - first];
      return typeof width === 'number' ? width : (fallback ?? notSure('code outside /Widths'));
    };
  }
  if (!standard) return () => notSure('font without widths');
  return (_code, glyphName) => standard(glyphName);
}

function cachedGlyphs(name: string, bytesPerCode: 1 | 2, make: (code: number) => Omit<Glyph, 'whitespace'>): FontModel {
  // A dense array for one-byte codes (a sparse one is slow in V8).
  const cache: (Glyph | undefined)[] = bytesPerCode === 1 ? new Array<Glyph | undefined>(256).fill(undefined) : [];
  return {
    name,
    bytesPerCode,
    glyph(code) {
      let glyph = cache[code];
      if (!glyph) {
        const made = make(code);
        // Spelled out: an object spread here cost more than the rest of the glyph.
        glyph = { unicode: made.unicode, width: made.width, whitespace: unicodeCategory(made.unicode) === 'whitespace' };
        cache[code] = glyph;
      }
      return glyph;
    },
  };
}

/** 9.10.3 ToUnicode CMaps: bfchar and bfrange (both forms), as pdf.js reads them. */
function readToUnicode(document: PdfDocument, font: PdfDict): Map<number, string> | undefined {
  const ref = font.get('ToUnicode');
  if (ref === undefined) return undefined;
  if (!(ref instanceof PdfRef)) return notSure('ToUnicode is not a stream');
  const map = parseToUnicodeCMap(document.streamData(ref));
  // pdf.js ignores an empty ToUnicode map.
  return map.size > 0 ? map : undefined;
}

function parseToUnicodeCMap(data: Buffer): Map<number, string> {
  const map = new Map<number, string>();
  const lexer = new Lexer(data, 0);
  for (let token = lexer.next(); token !== undefined; token = lexer.next()) {
    if (!(token instanceof Keyword)) continue;
    if (token.word === 'beginbfchar') readBfChars(lexer, map);
    else if (token.word === 'beginbfrange') readBfRanges(lexer, map);
    else if (token.word === 'usecmap' || /^begin(cid|notdef)/.test(token.word)) notSure(`CMap ${token.word}`);
  }
  return map;
}

/** The entries of a CMap section up to its end keyword, each handed its first token. */
function readSection(lexer: Lexer, endWord: string, readEntry: (first: Token | undefined) => void): void {
  for (let token = lexer.next(); !(token instanceof Keyword && token.word === endWord); token = lexer.next()) {
    if (token === undefined) notSure(`CMap without ${endWord}`);
    readEntry(token);
  }
}

function readBfChars(lexer: Lexer, map: Map<number, string>): void {
  readSection(lexer, 'endbfchar', (source) => {
    const target = lexer.next();
    if (!(source instanceof PdfString) || !(target instanceof PdfString)) return notSure('bad bfchar');
    map.set(bytesToCode(source.bytes), utf16ToString(target.bytes));
  });
}

function readBfRanges(lexer: Lexer, map: Map<number, string>): void {
  readSection(lexer, 'endbfrange', (low) => {
    const high = lexer.next();
    if (!(low instanceof PdfString) || !(high instanceof PdfString)) return notSure('bad bfrange');
    const first = bytesToCode(low.bytes);
    const last = bytesToCode(high.bytes);
    if (last < first || last - first > MAX_CMAP_RANGE) notSure('bfrange too long');
    const target = lexer.next();
    if (target instanceof PdfString) mapRangeToString(map, first, last, target.bytes);
    else if (target === '[') mapRangeToArray(map, first, last, parseArray(lexer, false, 0));
    else notSure('bad bfrange target');
  });
}

/** pdf.js CMap.mapBfRange: only the last byte of the target is incremented. */
function mapRangeToString(map: Map<number, string>, first: number, last: number, target: string): void {
  if (target.length === 0) notSure('empty bfrange target');
  const lastIndex = target.length - 1;
  let bytes = target;
  for (let code = first; code <= last; code++) {
    map.set(code, utf16ToString(bytes));
    const next = bytes.charCodeAt(lastIndex) + 1;
    if (next > 0xff && code < last) notSure('bfrange overflows a byte');
    bytes = bytes.slice(0, lastIndex) + String.fromCharCode(next & 0xff);
  }
}

function mapRangeToArray(map: Map<number, string>, first: number, last: number, targets: PdfValue[]): void {
  for (let code = first, i = 0; code <= last && i < targets.length; code++, i++) {
    const target = targets[i];
    if (!(target instanceof PdfString)) return notSure('bad bfrange array');
    map.set(code, utf16ToString(target.bytes));
  }
}

function bytesToCode(bytes: string): number {
  if (bytes.length === 0 || bytes.length > 2) notSure('code length');
  let code = 0;
  for (let i = 0; i < bytes.length; i++) code = code * 256 + bytes.charCodeAt(i);
  return code;
}

/** pdf.js readToUnicode: UTF-16BE, an odd length padded with a leading zero byte. */
function utf16ToString(raw: string): string {
  const bytes = raw.length % 2 ? `\0${raw}` : raw;
  const codePoints: number[] = [];
  for (let i = 0; i < bytes.length; i += 2) {
    const unit = (bytes.charCodeAt(i) << 8) | bytes.charCodeAt(i + 1);
    if ((unit & 0xf800) !== 0xd800) {
      codePoints.push(unit);
      continue;
    }
    i += 2;
    const low = (bytes.charCodeAt(i) << 8) | bytes.charCodeAt(i + 1);
    codePoints.push(((unit & 0x3ff) << 10) + (low & 0x3ff) + 0x10000);
  }
  return String.fromCodePoint(...codePoints);
}

// ---------------------------------------------------------------------------------------------
// Content streams (8.2, 9.4): only what moves text or changes which font is used.

/**
 * Every operator of ISO 32000-1 Annex A with its operand count (-1: any). pdf.js skips an operator
 * with too few operands, drops surplus ones, carries operands over an unknown operator, and fails
 * after too many broken path operators; none of that is copied, so any mismatch declines.
 */
const OPERAND_COUNTS = new Map(
  Object.entries({
    0: "b B b* B* BI BT BX EI EMC ET EX f F f* h ID n q Q s S T* W W*",
    1: "BMC CS cs Do G g gs i j J M MP ri sh Tc Tj TJ TL Tr Ts Tw Tz w '",
    2: 'BDC d d0 DP l m Td TD Tf',
    3: 'RG rg "',
    4: 'K k re v y',
    6: 'c cm d1 Tm',
    '-1': 'SC sc SCN scn',
  }).flatMap(([count, operators]) => operators.split(' ').map((op): [string, number] => [op, Number(count)])),
);

function runContentStream(data: Buffer, builder: PageTextBuilder): void {
  const lexer = new Lexer(data, 0);
  const operands: PdfValue[] = [];
  for (let token = lexer.next(); token !== undefined; token = lexer.next()) {
    if (token instanceof Keyword && !['true', 'false', 'null'].includes(token.word)) {
      const count = OPERAND_COUNTS.get(token.word);
      if (count === undefined) notSure(`operator ${token.word}`);
      if (count >= 0 && operands.length !== count) notSure(`operator ${token.word} with ${operands.length} operands`);
      builder.operator(token.word, operands);
      operands.length = 0;
    } else {
      operands.push(parseValue(lexer, token, false));
    }
  }
  builder.operator('(end)', []);
}

type Matrix = [number, number, number, number, number, number];
const IDENTITY: Matrix = [1, 0, 0, 1, 0, 0];

/** pdf.js Util.transform: m2 applied first, then m1. */
function multiply(m1: Matrix, m2: Matrix): Matrix {
  return [
    m1[0] * m2[0] + m1[2] * m2[1],
    m1[1] * m2[0] + m1[3] * m2[1],
    m1[0] * m2[2] + m1[2] * m2[3],
    m1[1] * m2[2] + m1[3] * m2[3],
    m1[0] * m2[4] + m1[2] * m2[5] + m1[4],
    m1[1] * m2[4] + m1[3] * m2[5] + m1[5],
  ];
}

/** Text and graphics state pdf.js keeps for text (saved by q, restored by Q). */
interface TextState {
  ctm: Matrix;
  textMatrix: Matrix;
  textLineMatrix: Matrix;
  font: FontModel | undefined;
  fontName: string | undefined;
  fontSize: number;
  charSpacing: number;
  wordSpacing: number;
  leading: number;
  horizontalScale: number;
  rise: number;
}

/** A glyph origin in device space (pdf.js getCurrentTextTransform, entries e and f). */
interface Position {
  x: number;
  y: number;
}

/** pdf.js textContentItem: only what decides spaces and line ends. */
interface TextItem {
  initialized: boolean;
  width: number;
  /** Width measured at earlier advance scales (pdf.js keeps both, and uses this when width is 0). */
  totalWidth: number;
  height: number;
  advanceScale: number;
  fontSize: number;
}

// pdf.js getTextContent's factors (of the font size).
const TRACKING_SPACE_FACTOR = 0.102;
const NOT_A_SPACE_FACTOR = 0.03;
const NEGATIVE_SPACE_FACTOR = -0.2;
const SPACE_IN_FLOW_MIN_FACTOR = 0.102;
const SPACE_IN_FLOW_MAX_FACTOR = 0.6;
const VERTICAL_SHIFT_RATIO = 0.25;

/**
 * Replays pdf.js getTextContent for one page: which glyphs are kept, and where a space or an end
 * of line goes between them. A comparison that lands too close to a pdf.js threshold declines.
 */
class PageTextBuilder {
  private readonly pieces: string[] = [];
  private state: TextState = {
    ctm: IDENTITY,
    textMatrix: [...IDENTITY],
    textLineMatrix: IDENTITY,
    font: undefined,
    fontName: undefined,
    fontSize: 0,
    charSpacing: 0,
    wordSpacing: 0,
    leading: 0,
    horizontalScale: 1,
    rise: 0,
  };
  private readonly saved: TextState[] = [];
  private readonly fonts = new Map<string, FontModel>();
  private item: TextItem = { initialized: false, width: 0, totalWidth: 0, height: 0, advanceScale: 1, fontSize: 0 };
  /** Where the last kept glyph ended (pdf.js textContentItem.prevTransform). */
  private previous: Position | undefined;
  /** pdf.js twoLastChars / twoLastCharsPos. */
  private readonly lastChars = [' ', ' '];
  private lastCharsPos = 0;
  /** The font state the current item began with (pdf.js preTextState). */
  private itemFont: { size: number; resourceName: string | undefined; fontName: string } | undefined;

  constructor(
    private readonly document: PdfDocument,
    private readonly page: Page,
  ) {}

  get fontSize(): number {
    return this.state.fontSize;
  }

  finish(): string {
    return this.pieces.join('');
  }

  operator(op: string, args: PdfValue[]): void {
    const handler = OPERATORS[op];
    if (handler) handler(this, args);
  }

  // -- state operators --

  save(): void {
    if (this.saved.length > 1000) notSure('too many q');
    // The text matrix moves in place with every glyph, so the saved state keeps its own copy.
    this.saved.push({ ...this.state, textMatrix: [...this.state.textMatrix] });
  }

  restore(): void {
    // pdf.js ignores a Q without q.
    this.state = this.saved.pop() ?? this.state;
  }

  transform(args: PdfValue[]): void {
    this.state.ctm = multiply(this.state.ctm, matrixArgs(args));
  }

  beginText(): void {
    this.setTextMatrices(IDENTITY);
  }

  /** The text matrix moves with each glyph; the line matrix stays (9.4.2). */
  private setTextMatrices(matrix: Matrix): void {
    this.state.textMatrix = [...matrix];
    this.state.textLineMatrix = matrix;
  }

  setTextMatrix(args: PdfValue[]): void {
    this.setTextMatrices(matrixArgs(args));
    this.updateAdvanceScale();
  }

  /** pdf.js updateAdvanceScale: an item whose scale changes keeps what it measured so far apart. */
  private updateAdvanceScale(): void {
    const item = this.item;
    const scale = this.advanceScale();
    if (!item.initialized || scale === item.advanceScale) return;
    item.totalWidth += item.width * item.advanceScale;
    item.width = 0;
    item.advanceScale = scale;
  }

  /** 9.4.2 Td: pdf.js translateTextLineMatrix, then the text matrix follows the line matrix. */
  moveText(x: number, y: number): void {
    const m = this.state.textLineMatrix;
    this.setTextMatrices([m[0], m[1], m[2], m[3], m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]]);
  }

  nextLine(): void {
    this.moveText(0, -this.state.leading);
  }

  setFont(name: string, size: number): void {
    if (this.state.font && name === this.state.fontName && size === this.state.fontSize) return;
    if (!(size > 0)) notSure('font size');
    let font = this.fonts.get(name);
    if (!font) {
      const fonts = this.document.dict(this.page.resources.get('Font')) ?? notSure('no font resources');
      font = loadFont(this.document, fonts.get(name) ?? notSure(`font ${name} not in resources`));
      this.fonts.set(name, font);
    }
    this.state = { ...this.state, font, fontName: name, fontSize: size };
  }

  setState(changes: Partial<TextState>): void {
    this.state = { ...this.state, ...changes };
  }

  /** Do: an image only ends the current item; a form could hold text, which pdf.js reads. */
  paintXObject(name: string): void {
    this.flush();
    const xObjects = this.document.dict(this.page.resources.get('XObject')) ?? notSure('no XObject resources');
    const dict = this.document.dict(xObjects.get(name)) ?? notSure('XObject is not a stream');
    if (nameOf(this.document.get(dict, 'Subtype')) !== 'Image') notSure('form XObject');
  }

  /** gs: only a /Font entry matters to text, and pdf.js then loads that font. */
  setGraphicsState(name: string): void {
    const states = this.document.dict(this.page.resources.get('ExtGState')) ?? notSure('no ExtGState resources');
    const state = this.document.dict(states.get(name)) ?? notSure('ExtGState is not a dictionary');
    if (state.has('Font')) notSure('font set by ExtGState');
  }

  /** pdf.js flushTextContentItem: ends the current item, which alone adds no text. */
  flush(): void {
    const item = this.item;
    if (!item.initialized) return;
    item.totalWidth += item.width * item.advanceScale;
    item.initialized = false;
  }

  // -- text showing (pdf.js buildTextContentItem) --

  showText(bytes: string, extraSpacing: number): void {
    const state = this.state;
    const font = state.font ?? notSure('text before Tf');
    if (state.rise !== 0) notSure('text rise');
    this.flushOnFontChange(font);
    if (bytes.length === 0) {
      this.translateText((state.charSpacing + extraSpacing) * state.horizontalScale);
      return;
    }
    const step = font.bytesPerCode;
    if (bytes.length % step) notSure('odd byte count for two-byte codes');
    for (let i = 0; i < bytes.length; i += step) {
      const code = step === 1 ? bytes.charCodeAt(i) : (bytes.charCodeAt(i) << 8) | bytes.charCodeAt(i + 1);
      this.showGlyph(code, font.glyph(code), state.charSpacing + (i + step === bytes.length ? extraSpacing : 0));
    }
  }

  private showGlyph(code: number, glyph: Glyph, spacing: number): void {
    const state = this.state;
    // As pdf.js computes it (width times fontMatrix[0] times size), so that positions match bit for bit.
    const advance = glyph.width * (FONT_MATRIX_SCALE * state.fontSize);
    if (advance < 0) notSure('negative width');
    if (code === 32) spacing += state.wordSpacing;
    if (glyph.whitespace) {
      this.translateText((advance + spacing) * state.horizontalScale);
      this.saveLastChar(' ');
      return;
    }
    if (!this.compareWithLastPosition(advance)) {
      this.translateText(advance * state.horizontalScale);
      return;
    }
    this.ensureItem();
    this.translateText(advance * state.horizontalScale);
    this.item.width += advance * state.horizontalScale;
    if (advance) this.previous = this.position();
    if (this.saveLastChar(glyph.unicode)) this.pieces.push(' ');
    this.pieces.push(glyph.unicode);
    if (spacing) this.translateText(spacing * state.horizontalScale);
  }

  /** pdf.js ends the item when the font size, or the font itself, changed since it began. */
  private flushOnFontChange(font: FontModel): void {
    const { fontSize, fontName } = this.state;
    const last = this.itemFont;
    if (!last || last.size !== fontSize || (last.resourceName !== fontName && last.fontName !== font.name)) {
      this.flush();
      this.itemFont = { size: fontSize, resourceName: fontName, fontName: font.name };
    }
  }

  /** pdf.js translateTextMatrix(distance, 0), in place. */
  private translateText(distance: number): void {
    const m = this.state.textMatrix;
    m[4] += m[0] * distance;
    m[5] += m[1] * distance;
  }

  private position(): Position {
    const { ctm, textMatrix } = this.state;
    if (!isUprightScale(ctm) || !isUprightScale(textMatrix)) notSure('rotated or skewed text');
    return { x: ctm[0] * textMatrix[4] + ctm[4], y: ctm[3] * textMatrix[5] + ctm[5] };
  }

  private advanceScale(): number {
    const { ctm, textLineMatrix } = this.state;
    return Math.hypot(ctm[0], ctm[1]) * Math.hypot(textLineMatrix[0], textLineMatrix[1]);
  }

  /** pdf.js: the length of the text transform's second column, in its own order of operations. */
  private currentHeight(): number {
    const { ctm, textMatrix, fontSize } = this.state;
    return Math.abs(ctm[3] * (textMatrix[3] * fontSize));
  }

  /** pdf.js ensureTextContentItem. */
  private ensureItem(): void {
    if (this.item.initialized) return;
    const { fontSize } = this.state;
    this.item = {
      initialized: true,
      width: 0,
      totalWidth: 0,
      height: this.currentHeight(),
      advanceScale: this.advanceScale(),
      fontSize,
    };
  }

  /**
   * pdf.js compareWithLastPosition: false when the glyph lies outside the page view (dropped);
   * otherwise decides whether a space or an end of line comes before it.
   */
  private compareWithLastPosition(advance: number): boolean {
    const here = this.position();
    const [left, bottom, right, top] = this.page.view;
    // pdf.js adds the glyph's unscaled width to its start for the left edge.
    const outside =
      isBelow(here.x + advance, left) || !isBelow(here.x, right, true) || isBelow(here.y, bottom) || !isBelow(here.y, top, true);
    if (outside) return false;
    const previous = this.previous;
    if (!previous) return true;
    const dx = here.x - previous.x;
    const dy = here.y - previous.y;
    // Nothing moved since the last glyph (the usual case inside a string): pdf.js returns early.
    if (dx === 0 && dy === 0) return true;
    return this.decideGap(dx / this.item.advanceScale, dy);
  }

  private decideGap(gap: number, dy: number): boolean {
    const item = this.item;
    // pdf.js multiplies its thresholds by the sign of the item's width.
    if (Math.sign(item.width || item.totalWidth) !== 1) notSure('text item without positive width');
    const size = item.fontSize;
    const shift = Math.abs(dy);
    if (isBelow(gap, size * NEGATIVE_SPACE_FACTOR)) {
      if (!isBelow(shift, 0.5 * item.height, true)) this.appendEndOfLine();
      else {
        this.resetLastChars();
        this.flush();
      }
      return true;
    }
    if (!isBelow(shift, item.height, true)) {
      this.appendEndOfLine();
      return true;
    }
    if (isBelow(gap, size * NOT_A_SPACE_FACTOR, true)) this.resetLastChars();
    if (!isBelow(gap, size * TRACKING_SPACE_FACTOR, true)) this.addFakeSpace(gap);
    else if (this.shouldAddWhitespace()) {
      this.resetLastChars();
      this.flush();
      this.pieces.push(' ');
    } else item.width += gap;
    if (this.mayFlush(isAbove(shift, item.height * VERTICAL_SHIFT_RATIO))) this.flush();
    return true;
  }

  /**
   * Whether to end the item on a decision that only ends items. Ending one changes no text, only
   * the size the next item measures with; when that would be the same, a too-close call is safe.
   */
  private mayFlush(decision: boolean | 'close'): boolean {
    if (decision !== 'close') return decision;
    const item = this.item;
    const sameMeasures =
      !item.initialized ||
      (item.fontSize === this.state.fontSize && item.height === this.currentHeight() && item.advanceScale === this.advanceScale());
    if (!sameMeasures) notSure('too close to a pdf.js threshold that ends an item');
    return false;
  }

  /** pdf.js addFakeSpaces plus what compareWithLastPosition does with its answer. */
  private addFakeSpace(gap: number): void {
    const size = this.item.fontSize;
    // A wide gap ends the item; a Courier space is exactly at the limit, hence mayFlush.
    const inFlow = !isBelow(gap, size * SPACE_IN_FLOW_MIN_FACTOR) && !this.mayFlush(isAbove(gap, size * SPACE_IN_FLOW_MAX_FACTOR));
    if (!inFlow) this.flush();
    this.resetLastChars();
    this.pieces.push(' ');
    if (inFlow && this.item.initialized) this.item.width += gap;
  }

  private appendEndOfLine(): void {
    this.resetLastChars();
    this.pieces.push('\n');
    this.flush();
  }

  private saveLastChar(char: string): boolean {
    const nextPos = (this.lastCharsPos + 1) % 2;
    const spaceBefore = this.lastChars[this.lastCharsPos] !== ' ' && this.lastChars[nextPos] === ' ';
    this.lastChars[this.lastCharsPos] = char;
    this.lastCharsPos = nextPos;
    return spaceBefore;
  }

  private shouldAddWhitespace(): boolean {
    return this.lastChars[this.lastCharsPos] !== ' ' && this.lastChars[(this.lastCharsPos + 1) % 2] === ' ';
  }

  private resetLastChars(): void {
    this.lastChars[0] = this.lastChars[1] = ' ';
    this.lastCharsPos = 0;
  }
}

function isUprightScale(m: Matrix): boolean {
  return m[1] === 0 && m[2] === 0 && m[0] > 0 && m[3] > 0;
}

/**
 * How `value` compares with `threshold`. Both are computed with pdf.js's own operations in its
 * order, so an exact tie is a tie in pdf.js too; 'close' (near but not equal) is a call pdf.js's
 * rounding could tip either way.
 */
function compare(value: number, threshold: number): 'below' | 'equal' | 'above' | 'close' {
  if (value === threshold) return 'equal';
  const margin = 1e-7 * Math.max(1, Math.abs(threshold));
  if (value < threshold - margin) return 'below';
  if (value > threshold + margin) return 'above';
  return 'close';
}

/** pdf.js's `value < threshold` (or `<=` with `orEqual`); declines a close call. */
function isBelow(value: number, threshold: number, orEqual = false): boolean {
  const comparison = compare(value, threshold);
  if (comparison === 'close') notSure(`too close to a pdf.js threshold (${value} against ${threshold})`);
  return comparison === 'below' || (orEqual && comparison === 'equal');
}

/** pdf.js's `value > threshold`, or 'close' for the caller to settle. */
function isAbove(value: number, threshold: number): boolean | 'close' {
  const comparison = compare(value, threshold);
  return comparison === 'close' ? 'close' : comparison === 'above';
}

/** pdf.js getCharUnicodeCategory; right-to-left text is reordered by pdf.js, so declined too. */
function unicodeCategory(unicode: string): 'whitespace' | 'other' {
  if (STARTS_WITH_WHITESPACE.test(unicode)) return 'whitespace';
  if (COMBINING_OR_FORMAT.test(unicode)) notSure('combining or format character');
  if (RIGHT_TO_LEFT.test(unicode)) notSure('right-to-left text');
  return 'other';
}

// Module constants: a \p{} class is costly to build, and a literal in a function is rebuilt.
const STARTS_WITH_WHITESPACE = /^\s/u;
const COMBINING_OR_FORMAT = /\p{Mn}|\p{Cf}$/u;
const RIGHT_TO_LEFT = /[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]/;

/** pdf.js normalizeUnicode (applied to each text item unless disableNormalization). */
const NORMALIZED_RANGES =
  /([\u00a0\u00b5\u037e\u0eb3\u2000-\u200a\u202f\u2126\ufb00-\ufb04\ufb06\ufb20-\ufb36\ufb38-\ufb3c\ufb3e\ufb40-\ufb41\ufb43-\ufb44\ufb46-\ufba1\ufba4-\ufba9\ufbae-\ufbb1\ufbd3-\ufbdc\ufbde-\ufbe7\ufbea-\ufbf8\ufbfc-\ufbfd\ufc00-\ufc5d\ufc64-\ufcf1\ufcf5-\ufd3d\ufd88\ufdf4\ufdfa-\ufdfb\ufe71\ufe77\ufe79\ufe7b\ufe7d]+)|(\ufb05+)/gu;

function normalizeUnicode(text: string): string {
  return text.replace(NORMALIZED_RANGES, (_match, compatible: string | undefined, longST: string | undefined) =>
    compatible ? compatible.normalize('NFKC') : '\u017ft'.repeat((longST ?? '').length),
  );
}

// -- operator table --

type OperatorHandler = (builder: PageTextBuilder, args: PdfValue[]) => void;

function numbers(args: PdfValue[], count: number): number[] {
  if (args.length !== count || !args.every((a) => typeof a === 'number')) notSure('operator operands');
  return args as number[];
}

function matrixArgs(args: PdfValue[]): Matrix {
  const [a, b, c, d, e, f] = numbers(args, 6) as Matrix;
  return [a, b, c, d, e, f];
}

function stringArg(args: PdfValue[], index: number, count: number): string {
  const value = args[index];
  if (args.length !== count || !(value instanceof PdfString)) return notSure('text operand');
  return value.bytes;
}

function nameArg(args: PdfValue[]): string {
  const value = args[0];
  if (args.length !== 1 || !(value instanceof PdfName)) return notSure('name operand');
  return value.name;
}

/** TJ (9.4.3): numbers move the next glyph left by thousandths of the font size. */
function showSpacedText(builder: PageTextBuilder, args: PdfValue[]): void {
  const items = args[0];
  if (args.length !== 1 || !Array.isArray(items)) return notSure('TJ operand');
  // pdf.js: (-1 * fontSize) / 1000 per unit, in that order.
  const perUnit = (-1 * builder.fontSize) / 1000;
  let pending = '';
  for (const item of items) {
    if (item instanceof PdfString) pending += item.bytes;
    else if (typeof item === 'number') {
      // pdf.js skips a zero and otherwise shows what came before with the shift after it.
      if (item === 0) continue;
      builder.showText(pending, item * perUnit);
      pending = '';
    } else notSure('TJ item');
  }
  if (pending.length > 0) builder.showText(pending, 0);
}

const OPERATORS: Record<string, OperatorHandler> = {
  q: (b) => b.save(),
  Q: (b) => b.restore(),
  cm: (b, args) => b.transform(args),
  BT: (b) => b.beginText(),
  Tm: (b, args) => b.setTextMatrix(args),
  Td: (b, args) => {
    const [x = 0, y = 0] = numbers(args, 2);
    b.moveText(x, y);
  },
  TD: (b, args) => {
    const [x = 0, y = 0] = numbers(args, 2);
    b.setState({ leading: -y });
    b.moveText(x, y);
  },
  'T*': (b) => b.nextLine(),
  TL: (b, args) => b.setState({ leading: numbers(args, 1)[0] ?? 0 }),
  Tc: (b, args) => b.setState({ charSpacing: numbers(args, 1)[0] ?? 0 }),
  Tw: (b, args) => b.setState({ wordSpacing: numbers(args, 1)[0] ?? 0 }),
  Tz: (b, args) => b.setState({ horizontalScale: (numbers(args, 1)[0] ?? 100) / 100 }),
  Ts: (b, args) => b.setState({ rise: numbers(args, 1)[0] ?? 0 }),
  Tf: (b, args) => {
    const size = args[1];
    if (args.length !== 2 || typeof size !== 'number') notSure('Tf operands');
    b.setFont(nameArg(args.slice(0, 1)), size);
  },
  Tj: (b, args) => b.showText(stringArg(args, 0, 1), 0),
  TJ: showSpacedText,
  "'": (b, args) => {
    const text = stringArg(args, 0, 1);
    b.nextLine();
    b.showText(text, 0);
  },
  '"': (b, args) => {
    const text = stringArg(args, 2, 3);
    const [wordSpacing, charSpacing] = args;
    if (typeof wordSpacing !== 'number' || typeof charSpacing !== 'number') notSure('" operands');
    b.setState({ wordSpacing, charSpacing });
    b.nextLine();
    b.showText(text, 0);
  },
  Do: (b, args) => b.paintXObject(nameArg(args)),
  gs: (b, args) => b.setGraphicsState(nameArg(args)),
  BMC: (b) => b.flush(),
  BDC: (b) => b.flush(),
  EMC: (b) => b.flush(),
  BI: () => notSure('inline image'),
  ID: () => notSure('inline image'),
  '(end)': (b) => b.flush(),
};

// ---------------------------------------------------------------------------------------------
// Encodings and glyph names (Annex D), as pdf.js has them.

let glyphUnicodeTable: Map<string, string> | undefined;

/**
 * pdf.js _simpleFontToUnicode for one glyph name: the glyph list (here its Latin part) or a
 * uniXXXX / uXXXX name (9.10.2). pdf.js has more guesses (Cdd, gXX...); those are declined.
 */
function glyphUnicode(name: string, code: number): string {
  glyphUnicodeTable ??= new Map(pairs(GLYPH_UNICODE_SOURCE).map(([glyph, hex]) => [glyph, String.fromCharCode(parseInt(hex, 16))]));
  const known = glyphUnicodeTable.get(name);
  if (known !== undefined) return known;
  const hex = /^uni([0-9A-F]{4})$/.exec(name)?.[1] ?? /^u([0-9A-F]{4,6})$/.exec(name)?.[1];
  const value = hex === undefined ? 0 : parseInt(hex, 16);
  // pdf.js swaps in the base encoding's glyph when the value equals the code; not followed here.
  if (value <= 0 || value > 0x10ffff || value === code) return notSure(`glyph name ${name}`);
  return String.fromCodePoint(value);
}

function pairs(source: string): [string, string][] {
  const words = source.split(' ');
  const result: [string, string][] = [];
  for (let i = 0; i + 1 < words.length; i += 2) result.push([words[i] ?? '', words[i + 1] ?? '']);
  return result;
}

const encodingCache = new Map<string, string[]>();

function encodingNames(name: string): string[] {
  let names = encodingCache.get(name);
  if (!names) {
    const source = name === 'WinAnsiEncoding' ? WINANSI_NAMES : name === 'MacRomanEncoding' ? MACROMAN_NAMES : STANDARD_NAMES;
    names = source.split(' ').map((glyph) => (glyph === '-' ? '' : glyph));
    encodingCache.set(name, names);
  }
  return names;
}

/** Glyph name -> Unicode (hex), from pdf.js glyphlist: the names of the three encodings plus Latin extras. */
const GLYPH_UNICODE_SOURCE = [
  'A 41 AE c6 Aacute c1 Abreve 102 Acircumflex c2 Adieresis c4 Agrave c0 Amacron 100 Aogonek 104 Aring c5',
  'Atilde c3 B 42 C 43 Cacute 106 Ccaron 10c Ccedilla c7 Ccircumflex 108 Cdot 10a Cdotaccent 10a D 44 Dcaron 10e',
  'Dcroat 110 Delta 2206 Dslash 110 E 45 Eacute c9 Ebreve 114 Ecaron 11a Ecircumflex ca Edieresis cb Edot 116',
  'Edotaccent 116 Egrave c8 Emacron 112 Eng 14a Eogonek 118 Eth d0 Euro 20ac F 46 G 47 H 48 Hbar 126',
  'Hcircumflex 124 I 49 IJ 132 Iacute cd Ibreve 12c Icircumflex ce Idieresis cf Idot 130 Idotaccent 130 Igrave cc',
  'Imacron 12a Iogonek 12e Itilde 128 J 4a Jcircumflex 134 K 4b Kcedilla 136 Kcommaaccent 136 L 4c Lacute 139',
  'Lcaron 13d Lcedilla 13b Lcommaaccent 13b Ldot 13f Ldotaccent 13f Lslash 141 M 4d N 4e Nacute 143 Ncaron 147',
  'Ncedilla 145 Ncommaaccent 145 Ntilde d1 O 4f OE 152 Oacute d3 Obreve 14e Ocircumflex d4 Odblacute 150',
  'Odieresis d6 Ograve d2 Ohungarumlaut 150 Omacron 14c Omega 2126 Oslash d8 Otilde d5 P 50 Q 51 R 52 Racute 154',
  'Rcaron 158 Rcedilla 156 Rcommaaccent 156 S 53 Sacute 15a Scaron 160 Scedilla 15e Scircumflex 15c T 54 Tbar 166',
  'Tcaron 164 Tcedilla 162 Tcommaaccent 162 Thorn de U 55 Uacute da Ubreve 16c Ucircumflex db Udblacute 170',
  'Udieresis dc Ugrave d9 Uhungarumlaut 170 Umacron 16a Uogonek 172 Uring 16e Utilde 168 V 56 W 57',
  'Wcircumflex 174 X 58 Y 59 Yacute dd Ycircumflex 176 Ydieresis 178 Z 5a Zacute 179 Zcaron 17d Zdot 17b',
  'Zdotaccent 17b a 61 aacute e1 abreve 103 acircumflex e2 acute b4 adieresis e4 ae e6 afii00208 2015',
  'afii61573 202c afii61574 202d afii61575 202e agrave e0 amacron 101 ampersand 26 aogonek 105 apple f8ff',
  'approxequal 2248 aring e5 asciicircum 5e asciitilde 7e asterisk 2a asterism 2042 at 40 atilde e3 b 62',
  'backslash 5c bar 7c bardbl 2016 braceleft 7b braceright 7d bracketleft 5b bracketright 5d breve 2d8',
  'brokenbar a6 bullet 2022 c 63 cacute 107 caron 2c7 ccaron 10d ccedilla e7 ccircumflex 109 cdot 10b',
  'cdotaccent 10b cedilla b8 cent a2 circumflex 2c6 colon 3a comma 2c copyright a9 currency a4 d 64 dagger 2020',
  'daggerdbl 2021 dbllowline 2017 dblverticalbar 2016 dcaron 10f dcroat 111 degree b0 dieresis a8 divide f7',
  'dmacron 111 dollar 24 dotaccent 2d9 dotlessi 131 e 65 eacute e9 ebreve 115 ecaron 11b ecircumflex ea',
  'edieresis eb edot 117 edotaccent 117 egrave e8 eight 38 ellipsis 2026 emacron 113 emdash 2014 endash 2013',
  'eng 14b eogonek 119 equal 3d eth f0 euro 20ac exclam 21 exclamdbl 203c exclamdown a1 f 66 f_f fb00 f_f_i fb03',
  'f_f_l fb04 f_i fb01 f_l fb02 ff fb00 ffi fb03 ffl fb04 fi fb01 figuredash 2012 five 35 fl fb02 florin 192',
  'four 34 fraction 2044 g 67 gbreve 11f gcedilla 123 gcircumflex 11d gcommaaccent 123 gdot 121 gdotaccent 121',
  'germandbls df grave 60 greater 3e greaterequal 2265 guillemotleft ab guillemotright bb guilsinglleft 2039',
  'guilsinglright 203a h 68 hbar 127 hcircumflex 125 horizontalbar 2015 hungarumlaut 2dd hyphen 2d hyphentwo 2010',
  'i 69 iacute ed ibreve 12d icircumflex ee idieresis ef igrave ec ij 133 imacron 12b infinity 221e integral 222b',
  'iogonek 12f itilde 129 j 6a jcircumflex 135 k 6b kcedilla 137 kcommaaccent 137 kgreenlandic 138 l 6c',
  'lacute 13a lcaron 13e lcedilla 13c lcommaaccent 13c ldot 140 ldotaccent 140 less 3c lessequal 2264',
  'logicalnot ac longs 17f lozenge 25ca lslash 142 m 6d macron af minute 2032 mu b5 multiply d7 n 6e nacute 144',
  'napostrophe 149 ncaron 148 ncedilla 146 ncommaaccent 146 nine 39 notequal 2260 ntilde f1 numbersign 23 o 6f',
  'oacute f3 obreve 14f ocircumflex f4 odblacute 151 odieresis f6 oe 153 ogonek 2db ograve f2 ohungarumlaut 151',
  'omacron 14d one 31 onedotenleader 2024 onehalf bd onequarter bc onesuperior b9 ordfeminine aa ordmasculine ba',
  'oslash f8 otilde f5 overline 203e p 70 paragraph b6 parenleft 28 parenright 29 partialdiff 2202 percent 25',
  'period 2e periodcentered b7 perthousand 2030 pi 3c0 plus 2b plusminus b1 prime 2032 primereversed 2035',
  'product 220f q 71 question 3f questiondown bf quotedbl 22 quotedblbase 201e quotedblleft 201c',
  'quotedblright 201d quoteleft 2018 quoteleftreversed 201b quotereversed 201b quoteright 2019 quoterightn 149',
  'quotesinglbase 201a quotesingle 27 r 72 racute 155 radical 221a rcaron 159 rcedilla 157 rcommaaccent 157',
  'referencemark 203b registered ae ring 2da s 73 sacute 15b scaron 161 scedilla 15f scircumflex 15d second 2033',
  'section a7 semicolon 3b seven 37 six 36 slash 2f slong 17f space 20 sterling a3 summation 2211 t 74 tbar 167',
  'tcaron 165 tcedilla 163 tcommaaccent 163 thorn fe three 33 threequarters be threesuperior b3 tilde 2dc',
  'trademark 2122 two 32 twodotenleader 2025 twodotleader 2025 twosuperior b2 u 75 uacute fa ubreve 16d',
  'ucircumflex fb udblacute 171 udieresis fc ugrave f9 uhungarumlaut 171 umacron 16b underscore 5f',
  'underscoredbl 2017 uogonek 173 uring 16f utilde 169 v 76 w 77 wcircumflex 175 x 78 y 79 yacute fd',
  'ycircumflex 177 ydieresis ff yen a5 z 7a zacute 17a zcaron 17e zdot 17c zdotaccent 17c zero 30',
].join(' ');

const WINANSI_NAMES = [
  '- - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - space exclam quotedbl numbersign dollar',
  'percent ampersand quotesingle parenleft parenright asterisk plus comma hyphen period slash zero one two three',
  'four five six seven eight nine colon semicolon less equal greater question at A B C D E F G H I J K L M N O P',
  'Q R S T U V W X Y Z bracketleft backslash bracketright asciicircum underscore grave a b c d e f g h i j k l m',
  'n o p q r s t u v w x y z braceleft bar braceright asciitilde bullet Euro bullet quotesinglbase florin',
  'quotedblbase ellipsis dagger daggerdbl circumflex perthousand Scaron guilsinglleft OE bullet Zcaron bullet',
  'bullet quoteleft quoteright quotedblleft quotedblright bullet endash emdash tilde trademark scaron',
  'guilsinglright oe bullet zcaron Ydieresis space exclamdown cent sterling currency yen brokenbar section',
  'dieresis copyright ordfeminine guillemotleft logicalnot hyphen registered macron degree plusminus twosuperior',
  'threesuperior acute mu paragraph periodcentered cedilla onesuperior ordmasculine guillemotright onequarter',
  'onehalf threequarters questiondown Agrave Aacute Acircumflex Atilde Adieresis Aring AE Ccedilla Egrave Eacute',
  'Ecircumflex Edieresis Igrave Iacute Icircumflex Idieresis Eth Ntilde Ograve Oacute Ocircumflex Otilde',
  'Odieresis multiply Oslash Ugrave Uacute Ucircumflex Udieresis Yacute Thorn germandbls agrave aacute',
  'acircumflex atilde adieresis aring ae ccedilla egrave eacute ecircumflex edieresis igrave iacute icircumflex',
  'idieresis eth ntilde ograve oacute ocircumflex otilde odieresis divide oslash ugrave uacute ucircumflex',
  'udieresis yacute thorn ydieresis',
].join(' ');

const STANDARD_NAMES = [
  '- - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - space exclam quotedbl numbersign dollar',
  'percent ampersand quoteright parenleft parenright asterisk plus comma hyphen period slash zero one two three',
  'four five six seven eight nine colon semicolon less equal greater question at A B C D E F G H I J K L M N O P',
  'Q R S T U V W X Y Z bracketleft backslash bracketright asciicircum underscore quoteleft a b c d e f g h i j k',
  'l m n o p q r s t u v w x y z braceleft bar braceright asciitilde - - - - - - - - - - - - - - - - - - - - - -',
  '- - - - - - - - - - - - exclamdown cent sterling fraction yen florin section currency quotesingle quotedblleft',
  'guillemotleft guilsinglleft guilsinglright fi fl - endash dagger daggerdbl periodcentered - paragraph bullet',
  'quotesinglbase quotedblbase quotedblright guillemotright ellipsis perthousand - questiondown - grave acute',
  'circumflex tilde macron breve dotaccent dieresis - ring cedilla - hungarumlaut ogonek caron emdash - - - - - -',
  '- - - - - - - - - - AE - ordfeminine - - - - Lslash Oslash OE ordmasculine - - - - - ae - - - dotlessi - -',
  'lslash oslash oe germandbls - - - -',
].join(' ');

const MACROMAN_NAMES = [
  '- - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - space exclam quotedbl numbersign dollar',
  'percent ampersand quotesingle parenleft parenright asterisk plus comma hyphen period slash zero one two three',
  'four five six seven eight nine colon semicolon less equal greater question at A B C D E F G H I J K L M N O P',
  'Q R S T U V W X Y Z bracketleft backslash bracketright asciicircum underscore grave a b c d e f g h i j k l m',
  'n o p q r s t u v w x y z braceleft bar braceright asciitilde - Adieresis Aring Ccedilla Eacute Ntilde',
  'Odieresis Udieresis aacute agrave acircumflex adieresis atilde aring ccedilla eacute egrave ecircumflex',
  'edieresis iacute igrave icircumflex idieresis ntilde oacute ograve ocircumflex odieresis otilde uacute ugrave',
  'ucircumflex udieresis dagger degree cent sterling section bullet paragraph germandbls registered copyright',
  'trademark acute dieresis notequal AE Oslash infinity plusminus lessequal greaterequal yen mu partialdiff',
  'summation product pi integral ordfeminine ordmasculine Omega ae oslash questiondown exclamdown logicalnot',
  'radical florin approxequal Delta guillemotleft guillemotright ellipsis space Agrave Atilde Otilde OE oe endash',
  'emdash quotedblleft quotedblright quoteleft quoteright divide lozenge ydieresis Ydieresis fraction currency',
  'guilsinglleft guilsinglright fi fl daggerdbl periodcentered quotesinglbase quotedblbase perthousand',
  'Acircumflex Ecircumflex Aacute Edieresis Egrave Iacute Icircumflex Idieresis Igrave Oacute Ocircumflex apple',
  'Ograve Uacute Ucircumflex Ugrave dotlessi circumflex tilde macron breve dotaccent ring cedilla hungarumlaut',
  'ogonek caron',
].join(' ');

/** The glyphs whose standard-14 widths are listed below, in this order. */
const STANDARD_LATIN_GLYPHS = [
  'space exclam quotedbl numbersign dollar percent ampersand quotesingle parenleft parenright asterisk plus comma',
  'hyphen period slash zero one two three four five six seven eight nine colon semicolon less equal greater',
  'question at A B C D E F G H I J K L M N O P Q R S T U V W X Y Z bracketleft backslash bracketright asciicircum',
  'underscore grave a b c d e f g h i j k l m n o p q r s t u v w x y z braceleft bar braceright asciitilde',
  'bullet Euro quotesinglbase florin quotedblbase ellipsis dagger daggerdbl circumflex perthousand Scaron',
  'guilsinglleft OE Zcaron quoteleft quoteright quotedblleft quotedblright endash emdash tilde trademark scaron',
  'guilsinglright oe zcaron Ydieresis exclamdown cent sterling currency yen brokenbar section dieresis copyright',
  'ordfeminine guillemotleft logicalnot registered macron degree plusminus twosuperior threesuperior acute mu',
  'paragraph periodcentered cedilla onesuperior ordmasculine guillemotright onequarter onehalf threequarters',
  'questiondown Agrave Aacute Acircumflex Atilde Adieresis Aring AE Ccedilla Egrave Eacute Ecircumflex Edieresis',
  'Igrave Iacute Icircumflex Idieresis Eth Ntilde Ograve Oacute Ocircumflex Otilde Odieresis multiply Oslash',
  'Ugrave Uacute Ucircumflex Udieresis Yacute Thorn germandbls agrave aacute acircumflex atilde adieresis aring',
  'ae ccedilla egrave eacute ecircumflex edieresis igrave iacute icircumflex idieresis eth ntilde ograve oacute',
  'ocircumflex otilde odieresis divide oslash ugrave uacute ucircumflex udieresis yacute thorn ydieresis fraction',
  'fi fl breve dotaccent ring hungarumlaut ogonek caron Lslash dotlessi lslash',
].join(' ');

const HELVETICA_WIDTHS = [
  '278 278 355 556 556 889 667 191 333 333 389 584 278 333 278 278 556 556 556 556 556 556 556 556 556 556 278',
  '278 584 584 584 556 1015 667 667 722 722 667 611 778 722 278 500 667 556 833 722 778 667 778 722 667 611 722',
  '667 944 667 667 611 278 278 278 469 556 333 556 556 500 556 556 278 556 556 222 222 500 222 833 556 556 556',
  '556 333 500 278 556 500 722 500 500 500 334 260 334 584 350 556 222 556 333 1000 556 556 333 1000 667 333 1000',
  '611 222 222 333 333 556 1000 333 1000 500 333 944 500 667 333 556 556 556 556 260 556 333 737 370 556 584 737',
  '333 400 584 333 333 333 556 537 278 333 333 365 556 834 834 834 611 667 667 667 667 667 667 1000 722 667 667',
  '667 667 278 278 278 278 722 722 778 778 778 778 778 584 778 722 722 722 722 667 667 611 556 556 556 556 556',
  '556 889 500 556 556 556 556 278 278 278 278 556 556 556 556 556 556 556 584 611 556 556 556 556 500 556 500',
  '167 500 500 333 333 333 333 333 333 556 278 222',
].join(' ');

const HELVETICA_BOLD_WIDTHS = [
  '278 333 474 556 556 889 722 238 333 333 389 584 278 333 278 278 556 556 556 556 556 556 556 556 556 556 333',
  '333 584 584 584 611 975 722 722 722 722 667 611 778 722 278 556 722 611 833 722 778 667 778 722 667 611 722',
  '667 944 667 667 611 333 278 333 584 556 333 556 611 556 611 556 333 611 611 278 278 556 278 889 611 611 611',
  '611 389 556 333 611 556 778 556 556 500 389 280 389 584 350 556 278 556 500 1000 556 556 333 1000 667 333 1000',
  '611 278 278 500 500 556 1000 333 1000 556 333 944 500 667 333 556 556 556 556 280 556 333 737 370 556 584 737',
  '333 400 584 333 333 333 611 556 278 333 333 365 556 834 834 834 611 722 722 722 722 722 722 1000 722 667 667',
  '667 667 278 278 278 278 722 722 778 778 778 778 778 584 778 722 722 722 722 667 667 611 556 556 556 556 556',
  '556 889 556 556 556 556 556 278 278 278 278 611 611 611 611 611 611 611 584 611 611 611 611 611 556 611 556',
  '167 611 611 333 333 333 333 333 333 611 278 278',
].join(' ');

const TIMES_ROMAN_WIDTHS = [
  '250 333 408 500 500 833 778 180 333 333 500 564 250 333 250 278 500 500 500 500 500 500 500 500 500 500 278',
  '278 564 564 564 444 921 722 667 667 722 611 556 722 722 333 389 722 611 889 722 722 556 722 667 556 611 722',
  '722 944 722 722 611 333 278 333 469 500 333 444 500 444 500 444 333 500 500 278 278 500 278 778 500 500 500',
  '500 333 389 278 500 500 722 500 500 444 480 200 480 541 350 500 333 500 444 1000 500 500 333 1000 556 333 889',
  '611 333 333 444 444 500 1000 333 980 389 333 722 444 722 333 500 500 500 500 200 500 333 760 276 500 564 760',
  '333 400 564 300 300 333 500 453 250 333 300 310 500 750 750 750 444 722 722 722 722 722 722 889 667 611 611',
  '611 611 333 333 333 333 722 722 722 722 722 722 722 564 722 722 722 722 722 722 556 500 444 444 444 444 444',
  '444 667 444 444 444 444 444 278 278 278 278 500 500 500 500 500 500 500 564 500 500 500 500 500 500 500 500',
  '167 556 556 333 333 333 333 333 333 611 278 278',
].join(' ');

const TIMES_BOLD_WIDTHS = [
  '250 333 555 500 500 1000 833 278 333 333 500 570 250 333 250 278 500 500 500 500 500 500 500 500 500 500 333',
  '333 570 570 570 500 930 722 667 722 722 667 611 778 778 389 500 778 667 944 722 778 611 778 722 556 667 722',
  '722 1000 722 722 667 333 278 333 581 500 333 500 556 444 556 444 333 500 556 278 333 556 278 833 556 500 556',
  '556 444 389 333 556 500 722 500 500 444 394 220 394 520 350 500 333 500 500 1000 500 500 333 1000 556 333 1000',
  '667 333 333 500 500 500 1000 333 1000 389 333 722 444 722 333 500 500 500 500 220 500 333 747 300 500 570 747',
  '333 400 570 300 300 333 556 540 250 333 300 330 500 750 750 750 500 722 722 722 722 722 722 1000 722 667 667',
  '667 667 389 389 389 389 722 722 778 778 778 778 778 570 778 722 722 722 722 722 611 556 500 500 500 500 500',
  '500 722 444 444 444 444 444 278 278 278 278 500 556 500 500 500 500 500 570 500 556 556 556 556 500 556 500',
  '167 556 556 333 333 333 333 333 333 667 278 278',
].join(' ');

const TIMES_ITALIC_WIDTHS = [
  '250 333 420 500 500 833 778 214 333 333 500 675 250 333 250 278 500 500 500 500 500 500 500 500 500 500 333',
  '333 675 675 675 500 920 611 611 667 722 611 611 722 722 333 444 667 556 833 667 722 611 722 611 500 556 722',
  '611 833 611 556 556 389 278 389 422 500 333 500 500 444 500 444 278 500 500 278 278 444 278 722 500 500 500',
  '500 389 389 278 500 444 667 444 444 389 400 275 400 541 350 500 333 500 556 889 500 500 333 1000 500 333 944',
  '556 333 333 556 556 500 889 333 980 389 333 667 389 556 389 500 500 500 500 275 500 333 760 276 500 675 760',
  '333 400 675 300 300 333 500 523 250 333 300 310 500 750 750 750 500 611 611 611 611 611 611 889 667 611 611',
  '611 611 333 333 333 333 722 667 722 722 722 722 722 675 722 722 722 722 722 556 611 500 500 500 500 500 500',
  '500 667 444 444 444 444 444 278 278 278 278 500 500 500 500 500 500 500 675 500 500 500 500 500 444 500 444',
  '167 500 500 333 333 333 333 333 333 556 278 278',
].join(' ');

const TIMES_BOLDITALIC_WIDTHS = [
  '250 389 555 500 500 833 778 278 333 333 500 570 250 333 250 278 500 500 500 500 500 500 500 500 500 500 333',
  '333 570 570 570 500 832 667 667 667 722 667 667 722 778 389 500 667 611 889 722 722 611 722 667 556 611 722',
  '667 889 667 611 611 333 278 333 570 500 333 500 500 444 500 444 333 500 556 278 278 500 278 778 556 500 500',
  '500 389 389 278 556 444 667 500 444 389 348 220 348 570 350 500 333 500 500 1000 500 500 333 1000 556 333 944',
  '611 333 333 500 500 500 1000 333 1000 389 333 722 389 611 389 500 500 500 500 220 500 333 747 266 500 606 747',
  '333 400 570 300 300 333 576 500 250 333 300 300 500 750 750 750 500 667 667 667 667 667 667 944 667 667 667',
  '667 667 389 389 389 389 722 722 722 722 722 722 722 570 722 722 722 722 722 611 611 500 500 500 500 500 500',
  '500 722 444 444 444 444 444 278 278 278 278 500 556 500 500 500 500 500 570 500 556 556 556 556 444 500 444',
  '167 556 556 333 333 333 333 333 333 611 278 278',
].join(' ');

const STANDARD_WIDTH_TABLES: Record<string, string | undefined> = {
  Helvetica: HELVETICA_WIDTHS,
  'Helvetica-Bold': HELVETICA_BOLD_WIDTHS,
  'Times-Roman': TIMES_ROMAN_WIDTHS,
  'Times-Bold': TIMES_BOLD_WIDTHS,
  'Times-Italic': TIMES_ITALIC_WIDTHS,
  'Times-BoldItalic': TIMES_BOLDITALIC_WIDTHS,
};

const standardWidthCache = new Map<string, Map<string, number>>();

function standardWidths(table: string): Map<string, number> {
  let widths = standardWidthCache.get(table);
  if (!widths) {
    const glyphs = STANDARD_LATIN_GLYPHS.split(' ');
    const values = table.split(' ').map(Number);
    widths = new Map(glyphs.map((glyph, i) => [glyph, values[i] ?? 0]));
    standardWidthCache.set(table, widths);
  }
  return widths;
}
