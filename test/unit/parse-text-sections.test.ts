import { describe, expect, it } from 'vitest';
import { splitSections } from '../../src/mail/text-sections.js';

const REQUEST = 'Please could the practice arrange a repeat U&E in two weeks.';

describe('splitSections', () => {
  it.each([
    ['Outlook header block', `${REQUEST}\n\nKind regards\nAnn\n\n________________________________\nFrom: PCN <pcn@nhs.net>\nSent: 12 January 2026 10:00\nTo: Ann\nSubject: urgent`, /^_{5,}\nFrom: PCN/],
    ['Original Message marker', `${REQUEST}\n\n-----Original Message-----\nFrom: x\nurgent`, /^-----Original Message-----/],
    ['On ... wrote: on one line', `${REQUEST}\n\nOn 12 Jan 2026, at 10:00, PCN <pcn@nhs.net> wrote:\n> urgent`, /^On 12 Jan/],
    ['On ... wrote: wrapped', `${REQUEST}\n\nOn Mon, 12 Jan 2026 at 10:00, Primary Care Network\n<pcn@nhs.net> wrote:\n> urgent`, /^On Mon/],
    ['forwarded message', `FYI\n\n---------- Forwarded message ---------\nFrom: ward\n${REQUEST} urgent`, /Forwarded message/],
    ['Begin forwarded message', `FYI\n\nBegin forwarded message:\n\nFrom: ward\nurgent`, /^Begin forwarded message/],
  ])('%s starts the quoted history', (_name, text, quotedStart) => {
    const sections = splitSections(text);
    expect(sections.quotedText).toMatch(quotedStart);
    expect(sections.newText).not.toMatch(/urgent/i);
  });

  it.each([
    ['signature delimiter', `${REQUEST}\n\n-- \nAnn Smith\nNot for urgent queries`],
    ['sign-off then service notice', `${REQUEST}\n\nKind regards,\n\nAnn Smith\nWard 9\n\nIf you have an urgent query please contact the ward on 01632 960000.`],
    ['rule then trust name then disclaimer', `${REQUEST}\n\n______________________\nExample Hospitals NHS Trust\n\nCONFIDENTIALITY NOTICE: This e-mail and any files transmitted with it are confidential. Urgent matters: call the ward.`],
    ['service notice without sign-off, before a disclaimer', `${REQUEST}\n\nSeen by: Dr K, Registrar\n\nFor urgent clinical queries about this attendance please telephone the nurse in charge.\n\n*************************\n\nThis message may contain confidential information. If you are not the intended recipient please inform the sender.`],
    ['mailbox not monitored notice', `${REQUEST}\n\nThanks\nTeam\n\nThis mailbox is not monitored for urgent clinical matters.`],
    ['external banner at the top', `CAUTION: This email originated from outside of the organisation. Urgent: do not click links or open attachments unless you recognise the sender.\n\n${REQUEST}`],
    ['environment line glued under the text', `${REQUEST}\nPlease consider the environment before printing this e-mail - urgent`],
  ])('%s: footer leaves the request and takes "urgent"', (_name, text) => {
    const sections = splitSections(text);
    expect(sections.newText).toContain(REQUEST);
    expect(sections.newText).not.toMatch(/urgent/i);
    expect(sections.footerText).toMatch(/urgent/i);
  });

  it.each([
    ['an urgent request in the body', 'The potassium is 6.9. Please could the practice contact the patient urgently today.\n\nKind regards,\nDuty Biochemist'],
    ['"if you have an urgent" high in the body with content after it', 'If you have an urgent appointment slot, please could you see Mrs A today about her sodium of 119.\nShe is not answering our calls.\n\nThanks'],
    ['a one-line reply "Thanks"', 'Thanks, urgent bloods taken today.'],
  ])('keeps %s in newText', (_name, text) => {
    expect(splitSections(text).newText).toMatch(/urgent/i);
  });

  it.each([
    ['P.S. after the signature', `${REQUEST}\n\nKind regards,\nDr Ann Smith\nRenal Registrar\n\nP.S. Her potassium was 6.9 this morning: urgent, please act today.`],
    ['PS - glued under the name', `${REQUEST}\n\nThanks\nAnn\nPS - potassium 6.9, urgent.`],
    ['PPS', `${REQUEST}\n\nRegards\nAnn\n\nPS I am away next week.\n\nPPS urgent: potassium 6.9.`],
    ['NB:', `${REQUEST}\n\nMany thanks,\nAnn Smith\nWard 9 | Example Hospitals\n\nNB: urgent - potassium 6.9.`],
    ['Addendum', `${REQUEST}\n\nBest wishes\nAnn\n\nAddendum: urgent, the potassium is 6.9.`],
    ['Also,', `${REQUEST}\n\nThanks\nAnn\n\nAlso, her potassium is 6.9 today: urgent.`],
    ['Update:', `${REQUEST}\n\nKind regards\nAnn\n\nUpdate: urgent, potassium now 6.9.`],
  ])('a postscript below the sign-off (%s) is the sender\'s text, not signature', (_name, text) => {
    const sections = splitSections(text);
    expect(sections.newText).toContain(REQUEST);
    expect(sections.newText).toMatch(/urgent/i);
    expect(sections.newText).not.toMatch(/Registrar|Ward 9|^Ann$/m);
    expect(sections.footerText).not.toMatch(/urgent/i);
  });

  it.each([
    ['a paragraph of its own', `${REQUEST}\n\nThanks,\nDr Ann Smith\nRenal Registrar\n\nHer potassium is 6.9 this morning and she needs to be seen urgently.`],
    ['glued under the name', `${REQUEST}\n\nThanks\nAnn\nHe was found collapsed at home today, so this is now urgent.`],
    ['about "the patient"', `${REQUEST}\n\nKind regards,\nAnn Smith\n\nThe patient has not been taking her tablets; urgent review please.`],
  ])('a sentence about the patient below the sign-off (%s) is the sender\'s text, not signature', (_name, text) => {
    const sections = splitSections(text);
    expect(sections.newText).toContain(REQUEST);
    expect(sections.newText).toMatch(/urgent/i);
    expect(sections.newText).not.toMatch(/Registrar/);
    expect(sections.footerText).not.toMatch(/urgent/i);
  });

  it.each([
    ['a "Confidential:" paragraph with a disclosure', `${REQUEST}\n\nConfidential: he disclosed suicidal thoughts to the renal nurse this morning and has been stockpiling his tablets.`, /suicidal thoughts/],
    ['a confidentiality sentence around a result', `${REQUEST}\n\nThis message contains confidential clinical information and is urgent: Mr Holloway's potassium was 6.9 this morning.`, /potassium was 6\.9/],
    ['an "External" paragraph with a result', `External review of his bloods today: potassium 6.9. Please contact him urgently.\n\n${REQUEST}`, /potassium 6\.9/],
    ['a result under the sign-off, no postscript word', `${REQUEST}\n\nKind regards\nDebbie Marsh\nMedical Secretary\n\nK+ 6.9 on today's sample - Dr Rahman would like him contacted urgently.`, /K\+ 6\.9/],
    ['a result under "--"', `${REQUEST}\n\n--\nCritical result: potassium 6.9 mmol/L this morning.`, /potassium 6\.9/],
    ['a result in the last paragraph with a service notice', `${REQUEST}\n\nHis potassium was 6.9 this morning so please contact him urgently. If you have any further questions or concerns please call the ward.`, /potassium was 6\.9/],
  ])('news of the patient in a footer-looking place (%s) is the sender\'s text', (_name, text, news) => {
    const sections = splitSections(text);
    expect(sections.newText).toContain(REQUEST);
    expect(sections.newText).toMatch(news);
  });

  it.each([
    ['a signature line that starts with a word like PSA', `${REQUEST}\n\nKind regards,\nAnn Smith\nPSA clinic coordinator - not for urgent queries`],
    ['a signature line that starts with "Also" and no comma', `${REQUEST}\n\nKind regards,\nAnn Smith\nAlso available on Teams, not for urgent queries`],
    ['a signature naming a person with a title and a service', `${REQUEST}\n\nKind regards,\nMr John Smith\nConsultant, Urgent Treatment Centre\nNorthmere University Hospitals - Caring, Safe, Together.`],
    ['a service notice about the patient', `${REQUEST}\n\nKind regards,\nAnn Smith\n\nIf you have an urgent query about this patient, please call the ward.`],
    ['a disclaimer below a postscript', `${REQUEST}\n\nThanks\nAnn\n\nPS I am away next week.\n\nThis e-mail is confidential. If you are not the intended recipient, please delete it. Urgent matters: telephone the ward.`],
    ['a signature of a stroke consultant with a phone number', `${REQUEST}\n\nKind regards,\nDr Ann Smith\nConsultant in Stroke Medicine, not for urgent queries\n01632 960000`],
    ['a signature of a self-harm liaison team', `${REQUEST}\n\nKind regards,\nAnn Smith\nMedical Secretary, Self-Harm Liaison Team - not for urgent queries`],
    ['a disclaimer about safeguarding concerns', `${REQUEST}\n\nThis e-mail is confidential. If you have safeguarding concerns please contact the safeguarding team; urgent matters to the ward.`],
    ['a disclaimer that mentions patient data', `${REQUEST}\n\nThis e-mail and any files transmitted with it are confidential. NHSmail is approved for exchanging patient data. If this is urgent please call 01632 960000.`],
  ])('%s stays in the footer', (_name, text) => {
    const sections = splitSections(text);
    expect(sections.newText).not.toMatch(/urgent/i);
    expect(sections.footerText).toMatch(/urgent/i);
  });

  it('keeps the sender\'s lines between "> " quotes (RFC 3676 interleaved reply)', () => {
    const sections = splitSections('> Which bloods?\nFBC and ferritin.\n> Where to?\nTo haematology.');
    expect(sections.newText).toBe('FBC and ferritin.\nTo haematology.');
    expect(sections.quotedText).toBe('> Which bloods?\n> Where to?');
  });

  it('keeps the text when everything looks like a footer rather than returning nothing', () => {
    const text = 'If you are not the intended recipient, please tell us.';
    expect(splitSections(text).newText).toBe(text);
  });

  it.each([[''], ['\r\n\r\n'], ['\u0000\u0000'], ['-- \n-- \n'], ['>\n>\n>']])('handles degenerate input %j', (text) => {
    expect(() => splitSections(text)).not.toThrow();
  });

  it('is fast on a long body', () => {
    const text = `${REQUEST}\n\n`.repeat(20_000) + 'Kind regards\nAnn';
    const started = performance.now();
    splitSections(text);
    // A guard against quadratic scanning, generous for loaded machines.
    expect(performance.now() - started).toBeLessThan(15_000);
  });
});
