/**
 * Deterministic benchmark mailbox: realistic hospital mail for the demo locality of
 * config/policy.example.yaml. Same seed, same bytes: runs compare like with like.
 *
 * Mix (per 100): 45 workload-shift requests from listed hospitals, 20 letters (discharge and clinic),
 * 15 non-hospital (patients, practices, the ICB), 10 automatic (out-of-office, notifications),
 * 5 lookalike/odd senders, 5 urgent. Every 20th message carries a ~200 KB PDF attachment (options.pdf).
 * Text messages are about 4.7 KB (quoted history and the trust disclaimer included), as measured
 * in the testbed's baseline.
 */
export interface CorpusOptions {
  count: number;
  /** Date header of the newest message; the rest spread over the `spreadDays` before it. */
  newest: Date;
  spreadDays: number;
  /** Message-ID namespace, so two corpora never share IDs. */
  tag: string;
  seed?: number;
  /**
   * The attachments: 'like' (the default, every figure in BENCHMARKS.md) is random bytes behind a PDF
   * header, which the worker reports as "Invalid PDF structure"; 'valid' is a one-page letter whose
   * text is read and whose 200 KB image is skipped, as a trust's letter would be (BENCH_PDF=valid).
   */
  pdf?: 'like' | 'valid';
}

export interface CorpusMessage {
  raw: Buffer;
  internalDate: Date;
  kind: string;
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST = ['Debbie', 'Aisha', 'Tomasz', 'Grace', 'Olu', 'Priya', 'Sean', 'Megan', 'Hamza', 'Zoë', 'Siân', 'Rhys'];
const LAST = ['Marsh', 'Rahman', 'Kowalski', 'Okafor', 'Patel', 'Byrne', 'Hughes', 'Ali', 'Evans', 'Nováková', 'Ó Briain'];
const PATIENT_FIRST = ['Dennis', 'Margaret', 'Arthur', 'Jean', 'Harold', 'Irene', 'Kwame', 'Fatima', 'Stanislav'];
const PATIENT_LAST = ['HOLLOWAY', 'PRITCHARD', 'BOATENG', 'KHAN', 'WOJCIK', 'DAVIES', 'FLETCHER'];
const HOSPITALS = [
  { domain: 'northmere.nhs.uk', trust: 'Northmere University Hospitals NHS Trust', nhsmail: 'northmere.renal' },
  { domain: 'staldrics.nhs.uk', trust: "St Aldric's Hospital NHS Foundation Trust", nhsmail: 'staldrics.cardiology' },
  { domain: 'eastfield-cmh.nhs.uk', trust: 'Eastfield Community and Mental Health NHS Trust', nhsmail: 'eastfield.memoryclinic' },
];
const SPECIALTIES = ['Renal', 'Cardiology', 'Diabetes', 'Respiratory', 'Rheumatology', 'Gastroenterology', 'Memory'];

const REQUESTS: Array<{ subject: string; ask: string }> = [
  { subject: 'Request for U&E', ask: 'Could the GP practice please arrange a repeat U&E in 2 weeks\' time and forward the result to the {spec} secretaries.' },
  { subject: 'Bloods before clinic', ask: 'We would be grateful if you could arrange FBC, LFTs and HbA1c before his next clinic appointment.' },
  { subject: 'ECG request', ask: 'Please could the practice arrange a 12-lead ECG and send us the tracing before the follow-up.' },
  { subject: '24 hour tape', ask: 'Could you please arrange a 24 hour holter monitor for this patient and forward the report.' },
  { subject: 'Medication change - please prescribe', ask: 'Please could the GP start apixaban 5mg twice daily and prescribe ongoing supplies from today.' },
  { subject: 'DNA - re-referral needed', ask: 'The patient did not attend their appointment and has been discharged; please re-refer if still clinically indicated.' },
  { subject: 'Fit note', ask: 'Could the GP please issue a fit note for 4 weeks following the procedure.' },
  { subject: 'Follow-up appointment', ask: 'Please could the practice book a follow-up appointment with us in 6 weeks and chase the result.' },
];
const LETTERS = [
  { subject: 'Discharge summary', text: 'Please find the discharge summary for this admission below. Diagnosis: community-acquired pneumonia, treated with amoxicillin. Medication on discharge as listed. No actions for the GP.' },
  { subject: 'Clinic letter', text: 'Thank you for referring this patient. I reviewed them in clinic today. Examination was unremarkable and the plan is routine review in the hospital clinic in 3 months; we will arrange the tests ourselves.' },
];
const NON_HOSPITAL = [
  { from: 'margaret.pritchard@example.com', subject: 'Repeat prescription query', text: 'Hello, I wanted to ask whether my repeat prescription has been sent to the pharmacy yet. Thank you.' },
  { from: 'riverside.surgery@nhs.net', subject: 'Practice managers meeting', text: 'Dear all, the practice managers meeting moves to Thursday at 2pm. Agenda to follow.' },
  { from: 'rivermarsh.icb@nhs.net', subject: 'ICB bulletin', text: 'This week: winter access funding, the enhanced access rota and the new referral forms.' },
];
const DISCLAIMER =
  'This e-mail and any files transmitted with it are confidential and intended solely for the use of the individual or entity to whom they are addressed. ' +
  'If you have received this e-mail in error please notify the sender immediately and delete it. NHSmail is approved for exchanging patient data and other sensitive information with NHSmail and other accredited email services. ' +
  'Any views or opinions presented are solely those of the author and do not necessarily represent those of the Trust. ';

const CLINICAL_PARAGRAPH =
  'On examination blood pressure was 142/86, pulse 78 regular, weight stable. We discussed the diagnosis and the options for treatment at length, and the patient is happy with the plan. ' +
  'Current medication includes ramipril 10mg once daily, atorvastatin 40mg at night, metformin 1g twice daily and omeprazole 20mg once daily. Allergies: penicillin (rash). ';

function pick<T>(random: () => number, list: readonly T[]): T {
  return list[Math.floor(random() * list.length)]!;
}

function rfc2822(date: Date): string {
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${days[date.getUTCDay()]}, ${date.getUTCDate()} ${months[date.getUTCMonth()]} ${date.getUTCFullYear()} ${p(date.getUTCHours())}:${p(date.getUTCMinutes())}:${p(date.getUTCSeconds())} +0000`;
}

function encodedWord(text: string): string {
  return /[^\x20-\x7e]/.test(text) ? `=?UTF-8?B?${Buffer.from(text, 'utf8').toString('base64')}?=` : `"${text}"`;
}

/** ~200 KB of bytes that look like a PDF (header, objects, binary stream), base64 on the wire. */
function pdfLike(random: () => number, text: string): Buffer {
  const head = Buffer.from(`%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n% ${text}\n4 0 obj << /Length 204800 >> stream\n`, 'latin1');
  const body = Buffer.alloc(200 * 1024);
  for (let i = 0; i < body.length; i += 4) body.writeUInt32LE((random() * 0xffffffff) >>> 0, i);
  return Buffer.concat([head, body, Buffer.from('\nendstream endobj\n%%EOF\n', 'latin1')]);
}

/**
 * A valid one-page PDF of the same size: a short letter in Helvetica (text a rule reads, with no
 * request or urgency cue in it) and a 200 KB image XObject of the same random bytes, with a correct
 * cross-reference table.
 */
function pdfValid(random: () => number): Buffer {
  const image = Buffer.alloc(200 * 1024);
  for (let i = 0; i < image.length; i += 4) image.writeUInt32LE((random() * 0xffffffff) >>> 0, i);
  const pixels = image.subarray(0, 320 * 213 * 3);
  const content = 'BT /F1 11 Tf 72 770 Td 14 TL (Outpatient clinic letter) Tj T* (Copy for the patient record.) Tj ET\nq 320 213 0 0 72 500 cm /Im1 Do Q';
  const parts: Buffer[] = [];
  const offsets: number[] = [];
  let length = 0;
  const add = (chunk: string | Buffer): void => {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
    parts.push(bytes);
    length += bytes.length;
  };
  const object = (num: number, body: string | Buffer[]): void => {
    offsets[num] = length;
    add(`${num} 0 obj\n`);
    if (typeof body === 'string') add(body);
    else body.forEach(add);
    add('\nendobj\n');
  };
  add('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n');
  object(1, '<< /Type /Catalog /Pages 2 0 R >>');
  object(2, '<< /Type /Pages /Kids [3 0 R] /Count 1 >>');
  object(3, '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> /XObject << /Im1 6 0 R >> >> /Contents 4 0 R >>');
  object(4, `<< /Length ${content.length} >>\nstream\n${content}\nendstream`);
  object(5, '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>');
  object(6, [Buffer.from(`<< /Type /XObject /Subtype /Image /Width 320 /Height 213 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Length ${pixels.length} >>\nstream\n`, 'latin1'), pixels, Buffer.from('\nendstream', 'latin1')]);
  const xref = length;
  add(`xref\n0 7\n0000000000 65535 f \n${offsets.slice(1).map((offset) => `${String(offset).padStart(10, '0')} 00000 n \n`).join('')}`);
  add(`trailer\n<< /Size 7 /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`);
  return Buffer.concat(parts);
}

function wrapBase64(data: Buffer): string {
  return data.toString('base64').replace(/.{76}/g, '$&\r\n');
}

export function generateCorpus(options: CorpusOptions): CorpusMessage[] {
  const random = rng(options.seed ?? 20261120);
  const messages: CorpusMessage[] = [];
  const spreadMs = options.spreadDays * 24 * 3600 * 1000;
  for (let index = 0; index < options.count; index++) {
    // Oldest first, as mail arrives; a little jitter so dates are not evenly spaced.
    const at = new Date(options.newest.getTime() - spreadMs + Math.floor(((index + random() * 0.5) / options.count) * spreadMs));
    const slot = index % 100;
    const hospital = pick(random, HOSPITALS);
    const staff = `${pick(random, FIRST)} ${pick(random, LAST)}`;
    const patient = `${pick(random, PATIENT_FIRST)} ${pick(random, PATIENT_LAST)}`;
    const spec = pick(random, SPECIALTIES);
    const nhsNumber = `999 ${String(100 + Math.floor(random() * 900))} ${String(1000 + Math.floor(random() * 9000))}`;
    const useNhsmail = random() < 0.3;
    const hospitalAddress = useNhsmail ? `${hospital.nhsmail}@nhs.net` : `${staff.toLowerCase().normalize('NFD').replace(/[^a-z ]/g, '').replace(' ', '.')}@${hospital.domain}`;
    let kind: string;
    let from: string;
    let subject: string;
    let newText: string;
    const extraHeaders: string[] = [];
    if (slot < 45) {
      const request = pick(random, REQUESTS);
      kind = 'request';
      from = `${encodedWord(staff)} <${hospitalAddress}>`;
      subject = `${request.subject} - ${patient}`;
      newText = `Dear Colleague,\r\n\r\nRe: ${patient}   NHS No: ${nhsNumber}\r\n\r\nDr ${pick(random, LAST)} reviewed ${patient} in the ${spec} clinic last week.\r\n\r\n${request.ask.replace('{spec}', spec)}\r\n\r\nMany thanks\r\n\r\n${staff}\r\nMedical Secretary, ${spec}\r\n${hospital.trust}`;
    } else if (slot < 65) {
      const letter = pick(random, LETTERS);
      kind = 'letter';
      from = `${encodedWord(staff)} <${hospitalAddress}>`;
      subject = `${letter.subject} - ${patient}`;
      newText = `Dear Dr ${pick(random, LAST)},\r\n\r\nRe: ${patient}   NHS No: ${nhsNumber}\r\n\r\n${letter.text}\r\n\r\n${CLINICAL_PARAGRAPH}\r\n\r\nYours sincerely\r\n\r\n${staff}\r\n${hospital.trust}`;
    } else if (slot < 80) {
      const other = pick(random, NON_HOSPITAL);
      kind = 'non-hospital';
      from = `${encodedWord(staff)} <${other.from}>`;
      subject = other.subject;
      newText = `${other.text}\r\n\r\n${staff}`;
    } else if (slot < 90) {
      kind = 'automatic';
      from = `${encodedWord(staff)} <${hospitalAddress}>`;
      subject = `Automatic reply: ${pick(random, REQUESTS).subject} - ${patient}`;
      newText = 'I am out of the office with no access to email. For urgent matters please contact the department secretaries.';
      extraHeaders.push('Auto-Submitted: auto-replied', 'X-Auto-Response-Suppress: All');
    } else if (slot < 95) {
      kind = 'lookalike';
      from = `${encodedWord(staff)} <${hospitalAddress.split('@')[0]}@${hospital.domain.replace('.nhs.uk', '-nhs.co.uk')}>`;
      subject = `${pick(random, REQUESTS).subject} - ${patient}`;
      newText = `Please could the GP arrange bloods for ${patient}.\r\n\r\n${staff}`;
    } else {
      kind = 'urgent';
      from = `${encodedWord(staff)} <${hospitalAddress}>`;
      subject = `URGENT - abnormal result - ${patient}`;
      newText = `Dear Colleague,\r\n\r\nRe: ${patient}   NHS No: ${nhsNumber}\r\n\r\nURGENT: potassium 6.9 on today's sample. Please contact the patient today and arrange urgent same-day review; please call the on-call registrar.\r\n\r\n${staff}\r\n${hospital.trust}`;
    }
    const quoted = `\r\n\r\n-----Original Message-----\r\nFrom: River & Marsh PCN Alliance\r\nSent: ${rfc2822(new Date(at.getTime() - 3 * 24 * 3600 * 1000))}\r\nSubject: ${subject}\r\n\r\n> ${CLINICAL_PARAGRAPH}\r\n> ${CLINICAL_PARAGRAPH}\r\n> ${CLINICAL_PARAGRAPH}\r\n`;
    const text = `${newText}${kind === 'automatic' ? '' : quoted}\r\n\r\n********************************************************************\r\n${DISCLAIMER}${DISCLAIMER}${DISCLAIMER}${DISCLAIMER}\r\n********************************************************************\r\n`;
    const messageId = `<bench-${options.tag}-${index}.${Math.floor(random() * 1e9).toString(36)}@${hospital.domain}>`;
    const headers = [
      'Return-Path: <' + (from.match(/<([^>]+)>/)?.[1] ?? '') + '>',
      `Received: from mail.${hospital.domain} (mail.${hospital.domain} [192.0.2.${index % 250}]) by mx.nhs.net; ${rfc2822(at)}`,
      `From: ${from}`,
      'To: River & Marsh PCN Alliance <rivermarsh.pcnalliance@nhs.net>',
      `Subject: ${/[^\x20-\x7e]/.test(subject) ? `=?UTF-8?B?${Buffer.from(subject).toString('base64')}?=` : subject}`,
      `Date: ${rfc2822(at)}`,
      `Message-ID: ${messageId}`,
      'MIME-Version: 1.0',
      ...extraHeaders,
    ];
    let raw: string | Buffer;
    if (index % 20 === 19) {
      const boundary = `----=_Part_${index}_bench`;
      raw = Buffer.concat([
        Buffer.from(
          `${headers.join('\r\n')}\r\nContent-Type: multipart/mixed; boundary="${boundary}"\r\n\r\n--${boundary}\r\nContent-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${text}\r\n--${boundary}\r\nContent-Type: application/pdf; name="letter-${index}.pdf"\r\nContent-Disposition: attachment; filename="letter-${index}.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n`,
          'utf8',
        ),
        Buffer.from(wrapBase64(options.pdf === 'valid' ? pdfValid(random) : pdfLike(random, subject)), 'latin1'),
        Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1'),
      ]);
    } else {
      raw = Buffer.from(`${headers.join('\r\n')}\r\nContent-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${text}`, 'utf8');
    }
    messages.push({ raw: raw as Buffer, internalDate: new Date(at.getTime() + 5000), kind });
  }
  return messages;
}
