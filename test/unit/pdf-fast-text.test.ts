import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { simpleParser } from 'mailparser';
import { extractText, getDocumentProxy } from 'unpdf';
import { describe, expect, it } from 'vitest';
import { fastPdfText, ObjectScanner } from '../../src/mail/pdf-fast-text.js';
import { extractPdfText } from '../../src/mail/pdf-text.js';
import { generateCorpus } from '../../bench/generate-corpus.js';

// The fast path must give exactly what unpdf gives (extractText, pages merged), so every case runs
// both and compares. Where the fast path declines (null), unpdf is what production uses.

async function unpdfText(bytes: Uint8Array): Promise<{ text: string } | { error: string }> {
  try {
    const document = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0 });
    try {
      return { text: (await extractText(document, { mergePages: true })).text };
    } finally {
      void document.destroy().catch(() => undefined);
    }
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

async function expectSameAsUnpdf(bytes: Uint8Array): Promise<string> {
  const reasons: string[] = [];
  const fast = fastPdfText(bytes, (reason) => reasons.push(reason));
  expect(reasons).toEqual([]);
  expect(fast).toMatchObject({ ok: true });
  const text = fast?.ok ? fast.text : '';
  expect(text).toBe(((await unpdfText(bytes)) as { text: string }).text);
  return text;
}

// ---------------------------------------------------------------------------------------------
// A small PDF writer: objects, a classic cross-reference table and a trailer (ISO 32000-1 7.5).

class PdfWriter {
  private readonly bodies: (Buffer | undefined)[] = [];

  reserve(): number {
    this.bodies.push(undefined);
    return this.bodies.length;
  }

  set(num: number, body: string | Buffer): number {
    this.bodies[num - 1] = typeof body === 'string' ? Buffer.from(body, 'latin1') : body;
    return num;
  }

  add(body: string | Buffer): number {
    return this.set(this.reserve(), body);
  }

  stream(dict: string, data: string | Buffer, compress = false): number {
    const raw = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    const bytes = compress ? deflateSync(raw) : raw;
    const filter = compress ? ' /Filter /FlateDecode' : '';
    return this.add(
      Buffer.concat([Buffer.from(`<< ${dict}${filter} /Length ${bytes.length} >>\nstream\n`, 'latin1'), bytes, Buffer.from('\nendstream', 'latin1')]),
    );
  }

  build(root: number, trailerExtra = ''): Buffer {
    const parts: Buffer[] = [Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
    let offset = parts[0]!.length;
    const offsets: number[] = [];
    this.bodies.forEach((body, i) => {
      const object = Buffer.concat([Buffer.from(`${i + 1} 0 obj\n`, 'latin1'), body ?? Buffer.from('null'), Buffer.from('\nendobj\n', 'latin1')]);
      offsets.push(offset);
      parts.push(object);
      offset += object.length;
    });
    const xref = [`xref\n0 ${this.bodies.length + 1}\n0000000000 65535 f \n`, ...offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`)].join('');
    parts.push(Buffer.from(`${xref}trailer\n<< /Size ${this.bodies.length + 1} /Root ${root} 0 R${trailerExtra} >>\nstartxref\n${offset}\n%%EOF\n`, 'latin1'));
    return Buffer.concat(parts);
  }
}

interface PageSpec {
  /** Several strings make a /Contents array, which pdf.js reads as one stream. */
  content: string | Buffer | string[];
  compress?: boolean;
  mediaBox?: string;
  extraResources?: string;
}

/** A document whose pages share one resource dictionary of fonts (name -> font object body). */
function buildPdf(pages: PageSpec[], fonts: Record<string, (w: PdfWriter) => number> = { F1: helvetica('WinAnsiEncoding') }, trailerExtra = ''): Buffer {
  const w = new PdfWriter();
  const catalog = w.reserve();
  const tree = w.reserve();
  const fontRefs = Object.entries(fonts).map(([name, make]) => `/${name} ${make(w)} 0 R`);
  const kids = pages.map((page) => {
    const contents = Array.isArray(page.content)
      ? `[${page.content.map((part) => `${w.stream('', part, page.compress)} 0 R`).join(' ')}]`
      : `${w.stream('', page.content, page.compress)} 0 R`;
    const resources = `<< /Font << ${fontRefs.join(' ')} >> ${page.extraResources ?? ''} >>`;
    return w.add(`<< /Type /Page /Parent ${tree} 0 R /MediaBox ${page.mediaBox ?? '[0 0 595 842]'} /Resources ${resources} /Contents ${contents} >>`);
  });
  w.set(tree, `<< /Type /Pages /Kids [${kids.map((k) => `${k} 0 R`).join(' ')}] /Count ${kids.length} >>`);
  w.set(catalog, `<< /Type /Catalog /Pages ${tree} 0 R >>`);
  return w.build(catalog, trailerExtra);
}

function helvetica(encoding?: string, baseFont = 'Helvetica'): (w: PdfWriter) => number {
  return (w) => w.add(`<< /Type /Font /Subtype /Type1 /BaseFont /${baseFont}${encoding ? ` /Encoding /${encoding}` : ''} >>`);
}

/** A non-embedded TrueType font with its own /Widths, the way word processors write Arial. */
function arialWithWidths(w: PdfWriter): number {
  const descriptor = w.add('<< /Type /FontDescriptor /FontName /ArialMT /Flags 32 /FontBBox [-665 -325 2000 1040] /ItalicAngle 0 /Ascent 905 /Descent -212 /CapHeight 716 /StemV 80 >>');
  const widths = Array.from({ length: 224 }, (_, i) => 400 + ((i * 37) % 300)).join(' ');
  return w.add(`<< /Type /Font /Subtype /TrueType /BaseFont /ArialMT /FirstChar 32 /LastChar 255 /Widths [${widths}] /Encoding /WinAnsiEncoding /FontDescriptor ${descriptor} 0 R >>`);
}

const TO_UNICODE_CMAP = (mappings: string): string =>
  `/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def
/CMapName /Adobe-Identity-UCS def /CMapType 2 def
1 begincodespacerange <0000> <FFFF> endcodespacerange
${mappings}
endcmap CMapName currentdict /CMap defineresource pop end end`;

/** A Type0 Identity-H font: two-byte codes, widths from /W, text only through ToUnicode (9.7, 9.10.3). */
function type0WithToUnicode(w: PdfWriter): number {
  const cmap = w.stream(
    '',
    TO_UNICODE_CMAP(`3 beginbfchar
<0001> <0048>
<0002> <00e9>
<0003> <0020>
endbfchar
2 beginbfrange
<0010> <0029> <0061>
<0030> <0032> [<2019> <00a3> <D835DC00>]
endbfrange`),
    true,
  );
  const descriptor = w.add('<< /Type /FontDescriptor /FontName /DemoCID /Flags 4 /FontBBox [0 -200 1000 900] /ItalicAngle 0 /Ascent 900 /Descent -200 /CapHeight 700 /StemV 80 >>');
  const cidFont = w.add(
    `<< /Type /Font /Subtype /CIDFontType2 /BaseFont /DemoCID /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor ${descriptor} 0 R /DW 500 /W [1 [722 444 278] 16 41 520 48 [333 556 900]] >>`,
  );
  return w.add(`<< /Type /Font /Subtype /Type0 /BaseFont /DemoCID /Encoding /Identity-H /DescendantFonts [${cidFont} 0 R] /ToUnicode ${cmap} 0 R >>`);
}

/** A simple font whose ToUnicode maps a private code layout (as subsetting tools write). */
function simpleWithToUnicode(w: PdfWriter): number {
  const cmap = w.stream('', TO_UNICODE_CMAP('1 beginbfrange\n<01> <1a> <0041>\nendbfrange\n1 beginbfchar\n<20> <0020>\nendbfchar'));
  const descriptor = w.add('<< /Type /FontDescriptor /FontName /Subset /Flags 4 /FontBBox [0 -200 1000 900] /ItalicAngle 0 /Ascent 900 /Descent -200 /CapHeight 700 /StemV 80 >>');
  const widths = Array.from({ length: 32 }, (_, i) => (i === 31 ? 250 : 600 + i * 5)).join(' ');
  return w.add(`<< /Type /Font /Subtype /TrueType /BaseFont /Subset /FirstChar 1 /LastChar 32 /Widths [${widths}] /FontDescriptor ${descriptor} 0 R /ToUnicode ${cmap} 0 R >>`);
}

function hex(text: string): string {
  return `<${Buffer.from(text, 'latin1').toString('hex')}>`;
}

function codes16(...values: number[]): string {
  return `<${values.map((v) => v.toString(16).padStart(4, '0')).join('')}>`;
}

// ---------------------------------------------------------------------------------------------

const corpusDir = join('..', 'shared', 'corpus', 'dev');

async function pdfAttachment(emlPath: string): Promise<Buffer> {
  const mail = await simpleParser(readFileSync(emlPath));
  const pdf = mail.attachments.find((a) => a.contentType === 'application/pdf');
  if (!pdf) throw new Error(`no PDF in ${emlPath}`);
  return pdf.content;
}

describe('fastPdfText on real PDFs', () => {
  it.each([['d014.eml'], ['d039.eml']])('reads the corpus PDF in %s as unpdf does', async (file) => {
    const path = join(corpusDir, file);
    if (!existsSync(path)) return; // the shared corpus is not in every checkout
    const text = await expectSameAsUnpdf(await pdfAttachment(path));
    expect(text.length).toBeGreaterThan(20);
  });

  it('reads the fixture letter as unpdf does', async () => {
    const text = await expectSameAsUnpdf(await pdfAttachment(join('test', 'fixtures', 'mail', 'pdf-attachment.eml')));
    expect(text).toContain('repeat HbA1c in 3 months');
  });
});

describe('fastPdfText on generated PDFs, compared with unpdf', () => {
  const cases: [string, () => Buffer][] = [
    ['Tj lines with T*, TL and escapes', () =>
      buildPdf([{ content: 'BT /F1 11 Tf 14 TL 56 790 Td (Dear Dr Smith \\(GP\\), back\\\\slash) Tj T* (second line) Tj T* () Tj T* (after a gap) Tj ET' }])],
    ['several pages, Flate-compressed contents', () =>
      buildPdf([
        { content: 'BT /F1 12 Tf 72 720 Td (Page one text) Tj ET', compress: true },
        { content: 'BT /F1 12 Tf 72 720 Td (Page two text) Tj 0 -20 Td (more) Tj ET', compress: true },
        { content: '', compress: true },
        { content: 'BT /F1 12 Tf 72 720 Td (Page four after an empty page) Tj ET' },
      ])],
    ['TJ arrays with kerning of every size', () =>
      buildPdf([{ content: 'BT /F1 10 Tf 50 700 Td [(Ke) 30 (rn) -20 (ing) -90 (tight) -110 (loose) -250 (word) -700 (gap) -3000 (far) 400 (back)] TJ 0 -14 Td [-500 (lead) 0 (zero)] TJ ET' }])],
    ['octal escapes and WinAnsi characters', () =>
      buildPdf([{ content: 'BT /F1 11 Tf 50 700 Td (Fee \\243120 \\226 caf\\351 \\222quoted\\224 \\205 na\\357ve \\200 5\\2600\\260C) Tj ET' }])],
    ['hex strings and line continuation', () =>
      buildPdf([{ content: `BT /F1 11 Tf 50 700 Td ${hex('Hex encoded line')} Tj 0 -14 Td <48 65 6c 6c 6f 2> Tj 0 -14 Td (split \\\nacross lines) Tj ET` }])],
    ['no /Encoding: StandardEncoding quotes', () =>
      buildPdf([{ content: "BT /F1 12 Tf 72 720 Td (it's `quoted' here) Tj ET" }], { F1: helvetica(undefined) })],
    ['MacRoman and Differences', () =>
      buildPdf([{ content: 'BT /F1 12 Tf 72 720 Td (\\216t\\216 \\245 ok) Tj /F2 12 Tf 0 -20 Td (\\001\\002\\003 ABC) Tj ET' }], {
        F1: helvetica('MacRomanEncoding'),
        F2: (w) => w.add('<< /Type /Font /Subtype /Type1 /BaseFont /Times-Roman /Encoding << /BaseEncoding /WinAnsiEncoding /Differences [1 /fi /fl /sterling 66 /Eacute] >> >>'),
      })],
    ['Times, Courier and bold fonts side by side on a line', () =>
      buildPdf([{ content: 'BT /F1 12 Tf 72 720 Td (Name:) Tj /F2 12 Tf 60 0 Td (Jane Doe) Tj /F3 10 Tf 100 0 Td (NHS 943 476 5919) Tj ET' }], {
        F1: helvetica('WinAnsiEncoding', 'Helvetica-Bold'),
        F2: helvetica('WinAnsiEncoding', 'Times-Roman'),
        F3: helvetica(undefined, 'Courier'),
      })],
    ['Td moves on one line: touching, narrow and wide gaps', () =>
      buildPdf([{ content: 'BT /F1 12 Tf 72 720 Td (Ab) Tj 13.344 0 Td (cd) Tj 14 0 Td (ef) Tj 16 0 Td (gh) Tj 40 0 Td (ij) Tj -200 0 Td (back) Tj ET' }])],
    ['TD, Tm, \' and " operators', () =>
      buildPdf([{ content: "BT /F1 11 Tf 50 700 TD (first) Tj 0 -13 TD (second) Tj 1 0 0 1 50 600 Tm (third) Tj (fourth) ' 2 1 (fifth) \" ET" }])],
    ['character and word spacing, horizontal scaling', () =>
      buildPdf([{ content: 'BT /F1 10 Tf 50 700 Td 3 Tc (spaced out) Tj 0 Tc 0 -14 Td 12 Tw (wide words here) Tj 0 Tw 0 -14 Td 50 Tz (condensed text) Tj ET' }])],
    ['q/Q with a scaling cm, an image and marked content', () => {
      const w = (page: string) => buildPdf([{ content: page, extraResources: '/XObject << /Im1 4 0 R >>' }], {
        F1: helvetica('WinAnsiEncoding'),
        // object 4 becomes the image: fonts are written first, as object 3
        Img: (writer) => writer.stream('/Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray /BitsPerComponent 8', '\x80'),
      });
      return w('q 2 0 0 2 10 10 cm BT /F1 6 Tf 20 300 Td (scaled text) Tj ET Q q 100 0 0 100 50 50 cm /Im1 Do Q /P <</MCID 0>> BDC BT /F1 12 Tf 72 500 Td (tagged) Tj ET EMC BT /F1 12 Tf 72 480 Td (after) Tj ET');
    }],
    ['text outside the page is dropped', () =>
      buildPdf([{ content: 'BT /F1 12 Tf 72 720 Td (visible) Tj 0 400 Td (above the page) Tj -500 -500 Td (left of it) Tj ET BT /F1 12 Tf 500 100 Td (runs off the right edge of the page) Tj ET' }])],
    ['a Type0 Identity-H font with ToUnicode bfchar and bfrange', () =>
      buildPdf([{ content: `BT /F1 14 Tf 60 700 Td ${codes16(1, 2, 3, 0x10, 0x11, 0x12, 3, 0x30, 0x31, 0x32)} Tj 0 -20 Td [${codes16(0x20, 0x21)} -400 ${codes16(0x22)}] TJ ET` }], { F1: type0WithToUnicode })],
    ['a simple font with ToUnicode and its own widths', () =>
      buildPdf([{ content: 'BT /F1 12 Tf 60 700 Td <08050c0c0f20170f120c04> Tj ET' }], { F1: simpleWithToUnicode })],
    ['a word-processor font with /Widths', () =>
      buildPdf([{ content: 'BT /F1 11 Tf 60 700 Td (Referral for Mr \\(A\\) Patient) Tj 150 0 Td (Ward 7) Tj 0 -13 Td [(Kern) -120 (ed)] TJ ET' }], { F1: arialWithWidths })],
    ['a /Contents array of several streams', () =>
      buildPdf([{ content: ['BT /F1 12 Tf 72 720 Td (first part) Tj\n', 'ET BT /F1 12 Tf 72 700 Td (second part) Tj ET', ' '], compress: true }])],
    ['a page with only an image (a scan)', () =>
      buildPdf([{ content: 'q 595 0 0 842 0 0 cm /Im1 Do Q', extraResources: '/XObject << /Im1 4 0 R >>' }], {
        F1: helvetica('WinAnsiEncoding'),
        Img: (writer) => writer.stream('/Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray /BitsPerComponent 8', '\x80'),
      })],
  ];

  it.each(cases)('%s', async (_name, make) => {
    await expectSameAsUnpdf(make());
  });

  it('follows a nested page tree with inherited resources and media box', async () => {
    const w = new PdfWriter();
    const font = helvetica('WinAnsiEncoding')(w);
    const root = w.reserve();
    const middle = w.reserve();
    const page = (text: string, parent: number) =>
      w.add(`<< /Type /Page /Parent ${parent} 0 R /Contents ${w.stream('', `BT /F1 12 Tf 72 720 Td (${text}) Tj ET`)} 0 R >>`);
    const first = page('first page', root);
    const second = page('second page', middle);
    const third = page('third page', middle);
    w.set(middle, `<< /Type /Pages /Parent ${root} 0 R /Kids [${second} 0 R ${third} 0 R] /Count 2 >>`);
    w.set(root, `<< /Type /Pages /Kids [${first} 0 R ${middle} 0 R] /Count 3 /MediaBox [0 0 612 792] /Resources << /Font << /F1 ${font} 0 R >> >> >>`);
    const catalog = w.add(`<< /Type /Catalog /Pages ${root} 0 R >>`);
    expect(await expectSameAsUnpdf(w.build(catalog))).toBe('first page\nsecond page\nthird page');
  });

  // Random words, fonts, moves, kerning and spacing: the spaces and line ends pdf.js infers from
  // glyph positions must come out the same.
  it('matches unpdf on 60 random layouts', async () => {
    let seed = 20261126;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const pick = <T,>(items: T[]): T => items[Math.floor(random() * items.length)]!;
    const words = ['Clinic', 'letter', 'please', 'arrange', 'bloods', 'HbA1c', 'in', '3', 'months', 'GP', 'to', '(oral)', 'a\\b', '£12.50', 'café', '–', 'O’Neil', 'i', 'l.'];
    const word = () => pick(words).replace(/[()\\]/g, '\\$&').replace(/[£é–’]/g, (c) => winAnsiEscape(c));
    let declined = 0;
    const reasons: string[] = [];
    for (let doc = 0; doc < 60; doc++) {
      const ops: string[] = [`BT /F${1 + (doc % 4)} ${pick([8, 9, 10, 11, 12, 14])} Tf 40 780 Td ${pick([12, 13, 16])} TL`];
      for (let line = 0; line < 8; line++) {
        const kerned = Array.from({ length: 1 + Math.floor(random() * 5) }, () => `(${word()}) ${pick([-900, -400, -260, -150, -60, 0, 40])}`);
        ops.push(pick([`[${kerned.join(' ')}] TJ`, `(${word()} ${word()}) Tj`, `(${word()}) '`]));
        if (random() < 0.2) ops.push(`/F${1 + Math.floor(random() * 4)} ${pick([9, 10, 12])} Tf`);
        if (random() < 0.2) ops.push(`${pick([0, 0.5, 2])} Tc ${pick([0, 3])} Tw ${pick([80, 100, 120])} Tz`);
        ops.push(pick(['T*', `${pick([0, 5, 120, 260])} ${pick([0, -13, -4, -20])} Td`, `0 ${pick([-13, -26])} Td`, `${pick([1, 2])} 0 0 ${pick([1, 2])} ${pick([40, 300])} ${700 - line * 30} Tm`]));
      }
      ops.push('ET');
      const pdf = buildPdf([{ content: ops.join('\n'), compress: random() < 0.5 }], {
        F1: helvetica('WinAnsiEncoding'),
        F2: helvetica('WinAnsiEncoding', 'Times-Roman'),
        F3: arialWithWidths,
        F4: helvetica('WinAnsiEncoding', 'Courier'),
      });
      const fast = fastPdfText(pdf, (reason) => reasons.push(reason));
      if (!fast) {
        declined++;
        continue;
      }
      expect(fast).toEqual({ ok: true, text: ((await unpdfText(pdf)) as { text: string }).text });
    }
    // Declining is safe but slow; most layouts should be read.
    expect(declined, reasons.join('; ')).toBeLessThan(3);
  });
});

function winAnsiEscape(char: string): string {
  const codes: Record<string, string> = { '£': '\\243', é: '\\351', '–': '\\226', '’': '\\222' };
  return codes[char] ?? char;
}

describe('fastPdfText declines what it cannot be sure of', () => {
  const content = 'BT /F1 12 Tf 72 720 Td (text) Tj ET';
  const cases: [string, () => Buffer][] = [
    ['an encrypted file', () => buildPdf([{ content }], undefined, ' /Encrypt << /Filter /Standard /V 1 /R 2 /O (x) /U (y) /P -4 >>')],
    ['a filter other than FlateDecode', () => {
      const w = new PdfWriter();
      const font = helvetica('WinAnsiEncoding')(w);
      const data = w.add(`<< /Filter /ASCIIHexDecode /Length ${content.length * 2 + 1} >>\nstream\n${Buffer.from(content).toString('hex')}>\nendstream`);
      const tree = w.reserve();
      const page = w.add(`<< /Type /Page /Parent ${tree} 0 R /Resources << /Font << /F1 ${font} 0 R >> >> /Contents ${data} 0 R >>`);
      w.set(tree, `<< /Type /Pages /Kids [${page} 0 R] /Count 1 >>`);
      return w.build(w.add(`<< /Type /Catalog /Pages ${tree} 0 R >>`));
    }],
    ['corrupt Flate data', () => {
      const pdf = buildPdf([{ content, compress: true }]);
      const at = pdf.indexOf('stream\n') + 10;
      pdf[at] = pdf[at]! ^ 0xff;
      pdf[at + 1] = pdf[at + 1]! ^ 0xff;
      return pdf;
    }],
    ['a Type3 font', () => buildPdf([{ content }], { F1: (w) => w.add('<< /Type /Font /Subtype /Type3 /FontBBox [0 0 1 1] /FontMatrix [1 0 0 1 0 0] /CharProcs << >> /Encoding << /Differences [] >> /FirstChar 0 /LastChar 0 /Widths [0] /Resources << >> >>') })],
    ['a Type0 font without ToUnicode', () => buildPdf([{ content: `BT /F1 12 Tf 72 720 Td ${codes16(1, 2)} Tj ET` }], {
      F1: (w) => {
        const cid = w.add('<< /Type /Font /Subtype /CIDFontType2 /BaseFont /X /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /DW 500 >>');
        return w.add(`<< /Type /Font /Subtype /Type0 /BaseFont /X /Encoding /Identity-H /DescendantFonts [${cid} 0 R] >>`);
      },
    })],
    ['an unknown encoding name', () => buildPdf([{ content }], { F1: helvetica('PDFDocEncoding') })],
    ['a non-standard font without widths', () => buildPdf([{ content }], { F1: helvetica('WinAnsiEncoding', 'Arial') })],
    ['a form XObject', () => buildPdf([{ content: `${content} /Fm1 Do`, extraResources: '/XObject << /Fm1 4 0 R >>' }], {
      F1: helvetica('WinAnsiEncoding'),
      Form: (w) => w.stream('/Type /XObject /Subtype /Form /BBox [0 0 10 10]', content),
    })],
    ['rotated text', () => buildPdf([{ content: 'BT /F1 12 Tf 0 1 -1 0 300 300 Tm (up) Tj ET' }])],
    ['an unknown operator', () => buildPdf([{ content: `${content} 1 2 XYZ` }])],
    ['an inline image', () => buildPdf([{ content: `${content} BI /W 1 /H 1 /BPC 8 /CS /G ID \x80 EI` }])],
    ['a control character WinAnsi does not map', () => buildPdf([{ content: 'BT /F1 12 Tf 72 720 Td (a\\nb) Tj ET' }])],
    ['an object both in an object stream and outside it', () => {
      const pdf = compressedPdf();
      const again = Buffer.from('\n4 0 obj << /Type /Font /Subtype /Type1 /BaseFont /Courier >> endobj\n');
      return Buffer.concat([pdf.subarray(0, 20), again, pdf.subarray(20)]);
    }],
    ['more page content than the synchronous path takes', () => buildPdf([{ content: 'BT /F1 12 Tf 72 720 Td (x) Tj ET\n'.repeat(40_000), compress: true }])],
    ['/Contents streams that only make an operator together', () => buildPdf([{ content: ['BT /F1 12 Tf 72 720 Td (a) Tj ET', 'BT /F1 12 Tf 72 700 Td (b) Tj ET'] }])],
  ];

  it.each(cases)('%s', async (_name, make) => {
    const reasons: string[] = [];
    expect(fastPdfText(make(), (reason) => reasons.push(reason))).toBeNull();
    expect(reasons).toHaveLength(1);
  });

  it('declines inputs over the size cap without reading them', () => {
    const huge = Buffer.alloc(5 * 1024 * 1024, 0x20);
    huge.write('%PDF-1.4\n', 'latin1');
    expect(fastPdfText(huge)).toBeNull();
  });
});

/**
 * PDF 1.5 structure (7.5.7, 7.5.8): the catalog, page tree, page and font inside a compressed
 * object stream, located by an uncompressed cross-reference stream instead of a table.
 */
function compressedPdf(): Buffer {
  const inStream = [
    [1, '<< /Type /Catalog /Pages 2 0 R >>'],
    [2, '<< /Type /Pages /Kids [3 0 R] /Count 1 >>'],
    [3, '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>'],
    [4, '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>'],
  ] as const;
  let body = '';
  const header: string[] = [];
  for (const [num, text] of inStream) {
    header.push(`${num} ${body.length}`);
    body += `${text}\n`;
  }
  const headerText = `${header.join(' ')}\n`;
  const objStm = deflateSync(Buffer.from(headerText + body, 'latin1'));
  const content = deflateSync(Buffer.from('BT /F1 12 Tf 72 720 Td (From an object stream) Tj 0 -14 Td (second line) Tj ET', 'latin1'));
  const parts: Buffer[] = [Buffer.from('%PDF-1.5\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  const offsets = new Map<number, number>();
  const push = (num: number, head: string, data?: Buffer) => {
    offsets.set(num, Buffer.concat(parts).length);
    parts.push(Buffer.from(`${num} 0 obj\n${head}`, 'latin1'));
    if (data) parts.push(Buffer.from('\nstream\n', 'latin1'), data, Buffer.from('\nendstream', 'latin1'));
    parts.push(Buffer.from('\nendobj\n', 'latin1'));
  };
  push(5, `<< /Length ${content.length} /Filter /FlateDecode >>`, content);
  push(6, `<< /Type /ObjStm /N ${inStream.length} /First ${headerText.length} /Length ${objStm.length} /Filter /FlateDecode >>`, objStm);
  const xrefOffset = Buffer.concat(parts).length;
  const entry = (type: number, field2: number, field3: number) => Buffer.from([type, (field2 >>> 24) & 255, (field2 >>> 16) & 255, (field2 >>> 8) & 255, field2 & 255, (field3 >>> 8) & 255, field3 & 255]);
  const entries = Buffer.concat([
    entry(0, 0, 65535),
    ...inStream.map((_, i) => entry(2, 6, i)),
    entry(1, offsets.get(5)!, 0),
    entry(1, offsets.get(6)!, 0),
    entry(1, xrefOffset, 0),
  ]);
  push(7, `<< /Type /XRef /Size 8 /W [1 4 2] /Root 1 0 R /Length ${entries.length} >>`, entries);
  parts.push(Buffer.from(`startxref\n${xrefOffset}\n%%EOF\n`, 'latin1'));
  return Buffer.concat(parts);
}

describe('fastPdfText on PDF 1.5 object and cross-reference streams', () => {
  it('reads objects from an object stream, as unpdf does', async () => {
    expect(await expectSameAsUnpdf(compressedPdf())).toBe('From an object stream\nsecond line');
  });
});

/** 7.5.6: a new version of object `num` appended with its own xref section and a /Prev trailer. */
function withIncrementalUpdate(pdf: Buffer, num: number, body: string): Buffer {
  const previous = /startxref\s+(\d+)/.exec(pdf.toString('latin1', pdf.length - 64))?.[1];
  const root = /\/Root (\d+) 0 R/.exec(pdf.toString('latin1'))?.[1];
  const size = /\/Size (\d+)/.exec(pdf.toString('latin1'))?.[1];
  const object = Buffer.from(`${num} 0 obj\n${body}\nendobj\n`, 'latin1');
  const xref = pdf.length + object.length;
  const section = `xref\n${num} 1\n${String(pdf.length).padStart(10, '0')} 00000 n \ntrailer\n<< /Size ${size} /Root ${root} 0 R /Prev ${previous} >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.concat([pdf, object, Buffer.from(section, 'latin1')]);
}

describe('fastPdfText follows the cross-reference data as pdf.js does', () => {
  const content = 'BT /F1 12 Tf 72 720 Td (original text) Tj ET';

  it('reads the newest version of an incrementally updated object', async () => {
    const pdf = buildPdf([{ content }]);
    const contentNum = Number(/\/Contents (\d+) 0 R/.exec(pdf.toString('latin1'))?.[1]);
    const updated = 'BT /F1 12 Tf 72 720 Td (updated text) Tj ET';
    const text = await expectSameAsUnpdf(withIncrementalUpdate(pdf, contentNum, `<< /Length ${updated.length} >>\nstream\n${updated}\nendstream`));
    expect(text).toBe('updated text');
  });

  it.each([
    ['an offset that points into another object', (pdf: Buffer) => {
      const text = pdf.toString('latin1');
      const entries = text.slice(text.lastIndexOf('\nxref'));
      const entry = /\n(\d{10}) 00000 n/.exec(entries.slice(entries.indexOf('65535 f')))!;
      const broken = String(Number(entry[1]) + 3).padStart(10, '0');
      return Buffer.from(text.slice(0, text.lastIndexOf('\nxref')) + entries.replace(entry[1]!, broken), 'latin1');
    }],
    ['no startxref', (pdf: Buffer) => Buffer.from(pdf.toString('latin1').replace('startxref', 'startxxxx'), 'latin1')],
    ['a linearized file', (pdf: Buffer) => Buffer.from(pdf.toString('latin1').replace('<< /Type /Catalog', '<< /Linearized 1 /Type /Catalog'), 'latin1')],
  ])('declines %s', (_name, damage) => {
    expect(fastPdfText(damage(buildPdf([{ content }])))).toBeNull();
  });
});

describe('the benchmark corpus "PDF-like" attachment', () => {
  /** As bench/generate-corpus.ts writes it: a header, a catalog, 200 KB of random bytes, no trailer. */
  function pdfLike(): Buffer {
    const head = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n% Referral letter\n4 0 obj << /Length 204800 >> stream\n', 'latin1');
    const body = Buffer.alloc(200 * 1024);
    let seed = 7;
    for (let i = 0; i < body.length; i++) body[i] = (seed = (seed * 48271) % 2147483647) & 0xff;
    return Buffer.concat([head, body, Buffer.from('\nendstream endobj\n%%EOF\n', 'latin1')]);
  }

  it('gets the error pdf.js gives, cheaply', async () => {
    const bytes = pdfLike();
    const started = performance.now();
    const fast = fastPdfText(bytes);
    expect(performance.now() - started).toBeLessThan(50);
    expect(fast).toEqual({ ok: false, pdfjsError: 'Invalid PDF structure.' });
    expect(await unpdfText(bytes)).toEqual({ error: 'Invalid PDF structure.' });
  });

  it('extractPdfText reports it as before', async () => {
    expect(await extractPdfText(pdfLike())).toEqual({ ok: false, problem: 'PDF text could not be extracted: Invalid PDF structure.' });
  });
});

describe('the benchmark corpus "valid" attachment (BENCH_PDF=valid)', () => {
  it('is read by the fast path as unpdf reads it', async () => {
    const corpus = generateCorpus({ count: 40, newest: new Date('2026-11-20T09:00:00Z'), spreadDays: 5, tag: 'pdf', pdf: 'valid' });
    const withPdf = corpus.filter((message) => message.raw.includes('application/pdf'));
    expect(withPdf).toHaveLength(2);
    for (const message of withPdf) {
      const [attachment] = (await simpleParser(message.raw)).attachments;
      const fast = fastPdfText(attachment!.content);
      expect(fast).toEqual({ ok: true, text: 'Outpatient clinic letter\nCopy for the patient record.' });
      expect(await unpdfText(attachment!.content)).toEqual({ text: (fast as { text: string }).text });
    }
  });
});

describe('extractPdfText with the fast path', () => {
  it('gives the text unpdf gives, and still falls back to unpdf when declined', async () => {
    const simple = buildPdf([{ content: 'BT /F1 12 Tf 72 720 Td (Please issue a fit note) Tj ET' }]);
    expect(await extractPdfText(simple)).toEqual({ ok: true, text: 'Please issue a fit note' });
    const declined = buildPdf([{ content: 'BT /F1 12 Tf 0 1 -1 0 300 300 Tm (Rotated request) Tj ET' }]);
    expect(fastPdfText(declined)).toBeNull();
    expect(await extractPdfText(declined)).toEqual({ ok: true, text: ((await unpdfText(declined)) as { text: string }).text });
  });
});

describe('finding "N G obj" and "trailer" in the bytes', () => {
  // What the reader searched the file's latin1 string with before it read bytes; the scanner must
  // find exactly what it found, from wherever each search starts.
  const OBJECT_OR_TRAILER =
    /(?<![0-9])(\d+)[\0\t\n\f\r ]+(\d+)[\0\t\n\f\r ]+obj(?![^\0\t\n\f\r ()<>[\]{}/%])|(?<![^\0\t\n\f\r ()<>[\]{}/%])trailer(?![^\0\t\n\f\r ()<>[\]{}/%])/g;
  const PIECES = ['obj', 'endobj', 'trailer', 'trailers', 'xtrailer', '12', '0', '7', ' ', '\n', '\r\n', '\0', '\t', '/', '<<', '>>', '(', ')', '[', '%', 'R', 'x', 'stream', '3 0 obj', '10 2 obj'];

  function regexMatches(text: string, froms: (end: number) => number): Array<{ index: number; end: number; num?: number; gen?: number }> {
    const scan = new RegExp(OBJECT_OR_TRAILER.source, 'g');
    const found = [];
    for (let match = scan.exec(text); match; match = scan.exec(text)) {
      const end = match.index + match[0].length;
      found.push(match[1] === undefined ? { index: match.index, end } : { index: match.index, end, num: Number(match[1]), gen: Number(match[2]) });
      scan.lastIndex = froms(end);
    }
    return found;
  }

  function scannerMatches(bytes: Buffer, froms: (end: number) => number): Array<{ index: number; end: number; num?: number; gen?: number }> {
    const scanner = new ObjectScanner(bytes);
    const found = [];
    for (let match = scanner.next(0); match; match = scanner.next(froms(match.end))) found.push(match);
    return found;
  }

  it('agrees with the regular expression on 3,000 random texts, from random places', () => {
    let seed = 20261127;
    const random = (n: number): number => (seed = (seed * 48271) % 2147483647) % n;
    let matches = 0;
    for (let round = 0; round < 3000; round++) {
      const text = Array.from({ length: 1 + random(40) }, () => PIECES[random(PIECES.length)]).join('');
      // The next search starts at the end of the match, or a little after it (past an object's body).
      const skips = Array.from({ length: 64 }, () => (random(3) === 0 ? random(6) : 0));
      const froms = (): ((end: number) => number) => {
        let i = 0;
        return (end) => end + skips[i++ % skips.length]!;
      };
      const expected = regexMatches(text, froms());
      expect(scannerMatches(Buffer.from(text, 'latin1'), froms()), JSON.stringify(text)).toEqual(expected);
      matches += expected.length;
    }
    // The texts must hold plenty of both kinds, or the comparison proves little.
    expect(matches).toBeGreaterThan(3000);
  });

  it('finds an object whose number starts the file and a trailer that ends it', () => {
    const bytes = Buffer.from('1 0 obj\n<< >>\nendobj\ntrailer', 'latin1');
    expect(scannerMatches(bytes, (end) => end)).toEqual([
      { index: 0, end: 7, num: 1, gen: 0 },
      { index: 21, end: 28 },
    ]);
  });
});
