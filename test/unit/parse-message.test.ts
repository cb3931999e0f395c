import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseMessage, parseMessageSlow } from '../../src/mail/parse-message.js';
import { buildMail } from '../support/mail-factory.js';

const fixtures = fileURLToPath(new URL('../fixtures/mail/', import.meta.url));
const load = (name: string): Buffer => readFileSync(`${fixtures}${name}`);

describe('parseMessage on hand-written fixtures', () => {
  it.each([
    ['qp-utf8.eml', 'Request for bloods', /Ms Renée Blake in two weeks' time\. The prescription charge is £9\.90/],
    ['base64-utf8.eml', 'ECG request', /arrange an ECG for Mr Ólafur Jónsson/],
    ['windows-1252.eml', 'Prescription request', /Dear Dr O’Brien,\s+Please could you prescribe “Dermovate” ointment – 30g/],
    ['wrong-charset.eml', 'Appointment', /Mrs Zoë Hartley .* can’t reach her/],
    ['lf-only.eml', 'Fit note request', /issue a fit note for Mr Reid for 6 weeks/],
    ['outlook-html-only.eml', 'Ultrasound before clinic', /arrange an ultrasound of the renal tract and an MSU\s+before the urology clinic/],
    ['rfc2047-subject.eml', 'Prescription request – Ms Renée CASTELLANO – urgent', /prescribe clobetasol/],
  ])('%s: subject and body text are decoded', async (file, subject, body) => {
    const message = await parseMessage(load(file));
    expect(message.subject).toBe(subject);
    expect(message.text).toMatch(body);
    expect(message.newText).toMatch(body);
    expect(message.text).not.toMatch(/[\uFFFD\u0080-\u009f]/);
  });

  it('reads the sender, recipients and thread identifiers', async () => {
    const message = await parseMessage(load('rfc2047-subject.eml'));
    expect(message.from).toEqual({ name: 'Renée Castellano', address: 'renee.castellano@northmere.nhs.uk' });
    expect(message.replyTo).toEqual([{ name: 'Secretaries, Dermatology', address: 'derm.secs@northmere.nhs.uk' }]);
    expect(message.to).toEqual([{ name: '', address: 'example.pcn@nhs.net' }]);
    expect(message.messageId).toBe('<rfc2047@example.nhs.uk>');
    expect(message.inReplyTo).toBe('<earlier@example.nhs.uk>');
    expect(message.references).toEqual(['<first@example.nhs.uk>', '<earlier@example.nhs.uk>']);
    expect(message.date?.toISOString()).toBe('2025-01-21T12:03:56.000Z');
    expect(message.returnPath).toBeNull();
  });

  it('gives a null date when the Date header is missing', async () => {
    const message = await parseMessage(load('missing-date.eml'));
    expect(message.date).toBeNull();
    expect(message.messageId).toBe('<missing-date@example.nhs.uk>');
  });

  it('reports a wrongly declared charset and still reads the text', async () => {
    const message = await parseMessage(load('wrong-charset.eml'));
    expect(message.parseProblems.join('\n')).toMatch(/declared as iso-8859-1 is UTF-8/);
  });

  it('reads a bounce: null Return-Path, multipart/report, gate headers', async () => {
    const message = await parseMessage(load('bounce.eml'));
    expect(message.returnPath).toBe('');
    expect(message.contentType).toBe('multipart/report');
    expect(message.headers['auto-submitted']).toEqual(['auto-replied']);
    expect(message.from?.address).toBe('mailer-daemon@mx.example.nhs.uk');
  });

  it('extracts the text of a small PDF attachment', async () => {
    const message = await parseMessage(load('pdf-attachment.eml'));
    expect(message.attachments).toHaveLength(1);
    expect(message.attachments[0]).toMatchObject({ filename: 'clinic-letter.pdf', contentType: 'application/pdf' });
    expect(message.attachments[0]?.size).toBe(load('letter.pdf').length);
    expect(message.attachments[0]?.text).toMatch(/please arrange a repeat HbA1c in 3 months/);
    expect(message.parseProblems).toEqual([]);
  });

  it('does not read the PDF with options {"pdfText":false}', async () => {
    const message = await parseMessage(load('pdf-attachment.eml'), { pdfText: false });
    expect(message.attachments[0]?.text).toBeUndefined();
    expect(message.parseProblems).toEqual([]);
  });

  it.each([
    ['the fast path', (raw: Buffer, options: { maxPdfBytes: number }) => parseMessage(raw, options)],
    ['mailparser', (raw: Buffer, options: { maxPdfBytes: number }) => parseMessageSlow(raw, options)],
  ])('a PDF over the size limit is not read, and says so (%s): a letter nobody read keeps the message from an automatic reply', async (_path, parse) => {
    const message = await parse(load('pdf-attachment.eml'), { maxPdfBytes: 100 });
    expect(message.attachments[0]?.text).toBeUndefined();
    expect(message.parseProblems).toEqual([`clinic-letter.pdf: ${load('letter.pdf').length} bytes, over the 100-byte limit for reading PDF attachments: not read`]);
  });

  it.each([
    ['the fast path', parseMessage],
    ['mailparser', parseMessageSlow],
  ])('names each attached Word, RTF or OpenDocument letter, attached e-mail, spreadsheet, text file, scan and image it does not read (%s)', async (_path, parse) => {
    const raw = Buffer.from(
      buildMail({
        attachments: [
          { filename: 'wound photo.jpg', contentType: 'image/jpeg', content: Buffer.alloc(300, 1) },
          { filename: 'clinic-letter.docx', contentType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', content: Buffer.alloc(500, 2) },
          { filename: 'summary', contentType: 'application/rtf', content: '{\\rtf1 urgent}' },
          { filename: 'Letter.ODT', contentType: 'application/octet-stream', content: Buffer.alloc(200, 3) },
          { filename: 'Lab result.eml', contentType: 'message/rfc822', content: 'From: lab@northmere.nhs.uk\r\nSubject: Result\r\n\r\nCRITICAL RESULT\r\n' },
          { filename: 'results.xlsx', contentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', content: Buffer.alloc(400, 4) },
          { filename: 'bloods.csv', contentType: 'text/csv', content: 'test,value\r\npotassium,6.9\r\n' },
          { filename: 'results.txt', contentType: 'text/plain', content: 'CRITICAL RESULT: potassium 6.9\r\n' },
          { filename: 'scanned-letter.tif', contentType: 'image/tiff', content: Buffer.alloc(600, 5) },
        ],
      }),
    );
    const message = await parse(raw);
    expect(message.attachments.map((a) => a.filename)).toEqual(['wound photo.jpg', 'clinic-letter.docx', 'summary', 'Letter.ODT', 'Lab result.eml', 'results.xlsx', 'bloods.csv', 'results.txt', 'scanned-letter.tif']);
    expect(message.parseProblems).toEqual([
      'wound photo.jpg: an attached image (a scanned or photographed letter?), which the worker does not read',
      'clinic-letter.docx: a Word document, which the worker does not read',
      'summary: an RTF document, which the worker does not read',
      'Letter.ODT: an OpenDocument document, which the worker does not read',
      'Lab result.eml: an attached e-mail, which the worker does not read',
      'results.xlsx: a spreadsheet, which the worker does not read',
      'bloods.csv: a spreadsheet, which the worker does not read',
      'results.txt: a text file, which the worker does not read',
      'scanned-letter.tif: a scanned image, which the worker does not read',
    ]);
  });

  it.each([
    ['the fast path', parseMessage],
    ['mailparser', parseMessageSlow],
  ])('a logo shown in the text (inline, with a Content-ID) is no problem (%s)', async (_path, parse) => {
    const raw = Buffer.from(
      [
        'From: Renal Clinic <renal.clinic@northmere.nhs.uk>',
        'To: rivermarsh.pcnalliance@nhs.net',
        'Subject: Bloods',
        'Message-ID: <logo@northmere.nhs.uk>',
        'MIME-Version: 1.0',
        'Content-Type: multipart/related; boundary="rel"',
        '',
        '--rel',
        'Content-Type: text/html; charset=utf-8',
        '',
        '<p>Please could you arrange a repeat U&amp;E.</p><p><img src="cid:logo001"></p>',
        '--rel',
        'Content-Type: image/png; name="image001.png"',
        'Content-Disposition: inline; filename="image001.png"',
        'Content-ID: <logo001>',
        'Content-Transfer-Encoding: base64',
        '',
        Buffer.alloc(300, 1).toString('base64'),
        '--rel--',
        '',
      ].join('\r\n'),
    );
    const message = await parse(raw);
    expect(message.newText).toContain('repeat U&E');
    expect(message.parseProblems).toEqual([]);
  });

  it('reports a "PDF" that is not a PDF instead of failing', async () => {
    const message = await parseMessage(load('not-a-pdf.eml'));
    expect(message.attachments[0]).toMatchObject({ filename: 'letter.pdf', contentType: 'application/pdf' });
    expect(message.attachments[0]?.text).toBeUndefined();
    expect(message.parseProblems.join('\n')).toMatch(/not a PDF/);
  });

  it.each([
    ['reply-original-message.eml', /do the U&E locally/, /-----Original Message-----/],
    ['reply-on-wrote.eml', /issue a fit note from 1 February/, /^On Thu, 23 Jan 2025/],
    ['interleaved-quote.eml', /FBC and ferritin, please/, /^> Which bloods are needed urgently\?/],
    ['forwarded.eml', /forwarding this one for the alliance log/, /Forwarded message[\s\S]*URGENT full blood count/],
  ])('%s: history goes to quotedText', async (file, kept, quoted) => {
    const message = await parseMessage(load(file));
    expect(message.newText).toMatch(kept);
    expect(message.quotedText).toMatch(quoted);
    expect(message.newText).not.toMatch(/urgent/i);
  });

  it.each([['signature-disclaimer-urgent.eml'], ['outlook-html-only.eml']])(
    '%s: "urgent" in the signature and disclaimer stays out of newText',
    async (file) => {
      const message = await parseMessage(load(file));
      expect(message.text).toMatch(/urgent/i);
      expect(message.newText).not.toMatch(/urgent|confidential|intended recipient/i);
      expect(message.footerText).toMatch(/urgent/i);
    },
  );

  it('parses only the first maxBytes of a large message and says so', async () => {
    const raw = load('qp-utf8.eml');
    const message = await parseMessage(raw, { maxBytes: 300 });
    expect(message.size).toBe(raw.length);
    expect(message.subject).toBe('Request for bloods');
    expect(message.parseProblems.join('\n')).toMatch(/over the 300-byte limit/);
  });
});
