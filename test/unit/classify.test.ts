import { beforeAll, describe, expect, it } from 'vitest';
import { automaticMailReasons, isNoReplyAddress } from '../../src/core/automatic-mail.js';
import { classify, classifyHeaders } from '../../src/core/classify.js';
import type { MailAddress, MailMessage } from '../../src/core/message.js';
import { isHospitalAddress, matchHospital } from '../../src/core/sender.js';
import { loadPolicyFile } from '../../src/policy/load-policy.js';
import type { Policy } from '../../src/policy/policy.js';

let policy: Policy;
beforeAll(() => {
  const result = loadPolicyFile('config/policy.example.yaml');
  if (!result.policy) throw new Error(JSON.stringify(result.problems));
  policy = result.policy;
});

const NOW = new Date('2026-03-01T10:00:00Z');
const address = (a: string, name = ''): MailAddress => ({ name, address: a.toLowerCase() });

/** A plain hospital message; each test overrides what it is about. */
function message(overrides: Partial<MailMessage> = {}): MailMessage {
  const newText = overrides.newText ?? '';
  return {
    messageId: '<m1@northmere.nhs.uk>',
    inReplyTo: null,
    references: [],
    date: new Date('2026-02-28T09:00:00Z'),
    subject: 'Patient letter',
    from: address('debbie.marsh@northmere.nhs.uk', 'Debbie Marsh'),
    replyTo: [],
    to: [address('rivermarsh.pcnalliance@nhs.net')],
    cc: [],
    returnPath: 'debbie.marsh@northmere.nhs.uk',
    contentType: 'text/plain',
    headers: {},
    text: newText,
    newText,
    quotedText: '',
    footerText: '',
    attachments: [],
    parseProblems: [],
    size: 1000,
    ...overrides,
  };
}

describe('gate 1: automatic mail (RFC 3834 and common practice)', () => {
  it.each([
    ['Auto-Submitted: auto-replied', { headers: { 'auto-submitted': ['auto-replied'] } }, 'rfc3834.auto-submitted'],
    ['Auto-Submitted: auto-generated', { headers: { 'auto-submitted': ['auto-generated'] } }, 'rfc3834.auto-submitted'],
    ['X-Auto-Response-Suppress', { headers: { 'x-auto-response-suppress': ['All'] } }, 'exchange.x-auto-response-suppress'],
    ['Precedence: bulk', { headers: { precedence: ['bulk'] } }, 'rfc3834.precedence'],
    ['Precedence: list', { headers: { precedence: ['List'] } }, 'rfc3834.precedence'],
    ['Precedence: junk', { headers: { precedence: ['junk'] } }, 'rfc3834.precedence'],
    ['List-Id', { headers: { 'list-id': ['<gp-bulletin.staldrics.nhs.uk>'] } }, 'rfc2369.list-header'],
    ['List-Unsubscribe', { headers: { 'list-unsubscribe': ['<mailto:unsub@x>'] } }, 'rfc2369.list-header'],
    ['null Return-Path', { returnPath: '' }, 'rfc5321.null-return-path'],
    ['multipart/report (bounce or read receipt)', { contentType: 'multipart/report' }, 'rfc6522.multipart-report'],
    ['MAILER-DAEMON sender', { from: address('MAILER-DAEMON@mx2.northmere.nhs.uk') }, 'rfc3834.daemon-sender'],
    ['postmaster sender', { from: address('postmaster@northmere.nhs.uk') }, 'rfc3834.daemon-sender'],
    ['no-reply sender', { from: address('no-reply@northmere.nhs.uk') }, 'noreply-sender'],
    ['noreply sender', { from: address('noreply@northmere.nhs.uk') }, 'noreply-sender'],
    ['do-not-reply sender', { from: address('do-not-reply@northmere.nhs.uk') }, 'noreply-sender'],
    ['Automatic reply subject', { subject: 'Automatic reply: Re: Fit note request' }, 'subject.automatic-reply'],
    ['Out of Office subject', { subject: 'Out of Office: back Monday' }, 'subject.automatic-reply'],
    ['Undeliverable subject', { subject: 'Undeliverable: Re: bloods' }, 'subject.automatic-reply'],
    ['read receipt subject', { subject: 'Read: Re: Cancelled clinic' }, 'subject.automatic-reply'],
    ['Outlook message recall', { subject: 'Recall: Request for U&E - please arrange bloods', newText: 'Renal Clinic would like to recall the message, "Request for U&E - please arrange bloods".' }, 'subject.automatic-reply'],
    ['Precedence with a comment', { headers: { precedence: ['bulk (mass mailing)'] } }, 'rfc3834.precedence'],
    ['Precedence: bulk after Precedence: normal', { headers: { precedence: ['normal', 'bulk'] } }, 'rfc3834.precedence'],
    ['X-Autoreply', { headers: { 'x-autoreply': ['yes'] } }, 'automatic-header'],
    ['X-Autorespond', { headers: { 'x-autorespond': ['Out of office'] } }, 'automatic-header'],
    ['X-Auto-Generated', { headers: { 'x-auto-generated': ['true'] } }, 'automatic-header'],
    ['X-Failed-Recipients (a bounce)', { headers: { 'x-failed-recipients': ['gp@nhs.net'] } }, 'automatic-header'],
    ['X-Loop', { headers: { 'x-loop': ['renal-acknowledgements@northmere.nhs.uk'] } }, 'automatic-header'],
    ['Feedback-ID (bulk mail)', { headers: { 'feedback-id': ['1:bulletin:northmere'] } }, 'automatic-header'],
    ['Lotus Notes "AUTO:" subject', { subject: 'AUTO: Debbie Marsh is out of the office (returning 24/11/2026)' }, 'subject.automatic-reply'],
    ['"Out-of-office" subject', { subject: 'Out-of-office: Re: Request for U&E - Mr B' }, 'subject.automatic-reply'],
  ] as const)('%s -> auto_generated (ignore)', (_name, overrides, rule) => {
    const m = message({ newText: 'Please could the practice arrange a repeat U&E in 2 weeks.', ...overrides } as Partial<MailMessage>);
    const result = classify(m, policy, NOW);
    expect(result).toMatchObject({ category: 'auto_generated', action: 'ignore' });
    expect(result.reasons.map((r) => r.rule)).toContain(rule);
    expect(classifyHeaders(m, policy)).toEqual(result);
  });

  it.each([
    ['Auto-Submitted: no', { headers: { 'auto-submitted': ['no'] } }],
    ['Precedence: normal', { headers: { precedence: ['normal'] } }],
    ['an ordinary sender and subject', {}],
    ['a subject that mentions an office', { subject: 'Back office referral query' }],
    ['X-Autoreply: no', { headers: { 'x-autoreply': ['no'] } }],
    ['Precedence: first-class', { headers: { precedence: ['first-class'] } }],
    ['a sender whose name contains "reply"', { from: address('replyteam@northmere.nhs.uk') }],
    ['a subject about an automatic process', { subject: 'RE: Automated BP monitoring - Mr B' }],
    ['a person answering an out-of-office', { subject: 'RE: Out of Office - Mr Holloway potassium 6.9' }],
    ['a person forwarding a bounce', { subject: 'FW: Undeliverable: URGENT result - Mr Holloway' }],
    ['an e-discharge system\'s no-reply address (read: it may be urgent)', { from: address('edischarge-donotreply@northmere.nhs.uk') }],
  ] as const)('%s is not automatic', (_name, overrides) => {
    expect(automaticMailReasons(message(overrides as Partial<MailMessage>))).toEqual([]);
  });
});

describe('no-reply addresses are never a reply\'s recipient', () => {
  it.each(['noreply@northmere.nhs.uk', 'no.reply@northmere.nhs.uk', 'do_not_reply@northmere.nhs.uk', 'renal-donotreply@northmere.nhs.uk', 'renal.secretaries-donotreply@northmere.nhs.uk', 'edischarge-donotreply@northmere.nhs.uk'])('%s', (from) => {
    expect(isNoReplyAddress(from)).toBe(true);
  });

  it.each(['debbie.marsh@northmere.nhs.uk', 'replyteam@northmere.nhs.uk', 'northmere.opbookings@nhs.net'])('%s is not one', (from) => {
    expect(isNoReplyAddress(from)).toBe(false);
  });
});

describe('gate 2: only listed hospitals', () => {
  it.each([
    ['trust domain', 'debbie.marsh@northmere.nhs.uk', 'northmere'],
    ['trust NHSmail team address', 'northmere.opbookings@nhs.net', 'northmere'],
    ['second trust', 'karen.doherty@staldrics.nhs.uk', 'staldrics'],
    ['community trust NHSmail', 'eastfield.memoryservice@nhs.net', 'eastfield'],
    ['upper-case address', 'Debbie.Marsh@NORTHMERE.NHS.UK', 'northmere'],
    ["an apostrophe and a plus in the local part", "o'neill+renal@northmere.nhs.uk", 'northmere'],
  ])('%s %s -> %s', (_name, from, id) => {
    expect(matchHospital(message({ from: address(from) }), policy).hospital?.id).toBe(id);
  });

  it.each([
    ['lookalike hyphen domain', 'outpatients@northmere-nhs.uk'],
    ['lookalike suffix domain', 'cardiology@northmere.nhs.uk.example.com'],
    ['lookalike .co.uk', 'ppu.admin@staldrics.co.uk'],
    ['subdomain of a trust domain', 'x@mail.northmere.nhs.uk'],
    ['practice that starts like a trust', 'northmereroad.surgery@nhs.net'],
    ['practice under a trust prefix (neverHospital wins)', 'northmere.surgery@nhs.net'],
    ['individual GP', 'gp.anjali.mehta@nhs.net'],
    ['ICB', 'rivermarsh.icb@nhs.net'],
    ['ICB domain', 'someone@rivermarsh-icb.nhs.uk'],
    ['LMC', 'helen.ackroyd@rivermarsh-lmc.org.uk'],
    ['community pharmacy', 'pharmacy.fq3t72@nhs.net'],
    ['patient', 'gareth.price1971@gmail.com'],
    ['our own mailbox', 'rivermarsh.pcnalliance@nhs.net'],
    ['personal NHSmail', 'jane.smith5@nhs.net'],
    ['a second @ before a trust domain', 'evil@gmail.com@northmere.nhs.uk'],
    ['a quoted local part with an @', '"evil@gmail.com"@northmere.nhs.uk'],
    ['a percent-hack route', 'evil%gmail.com@northmere.nhs.uk'],
    ['a bang-path route', 'gmail.com!evil@northmere.nhs.uk'],
  ])('%s %s -> non_hospital (file)', (_name, from) => {
    const m = message({ from: address(from), newText: 'Please arrange a repeat U&E in 2 weeks and a 12-lead ECG.' });
    const result = classify(m, policy, NOW);
    expect(result).toMatchObject({ category: 'non_hospital', action: 'file', organisation: null });
    expect(classifyHeaders(m, policy)).toEqual(result);
    expect(isHospitalAddress(from, policy)).toBe(false);
  });

  it('a message with no From is non_hospital', () => {
    expect(classify(message({ from: null, newText: 'Please arrange bloods.' }), policy, NOW).category).toBe('non_hospital');
  });

  it('notes a Reply-To outside the hospital list but keeps the From hospital', () => {
    const { hospital, reasons } = matchHospital(message({ replyTo: [address('someone@gmail.com')] }), policy);
    expect(hospital?.id).toBe('northmere');
    expect(reasons.map((r) => r.rule)).toContain('sender.reply-to-outside');
  });

  it('classifyHeaders returns null when the body is needed', () => {
    expect(classifyHeaders(message(), policy)).toBeNull();
  });
});

describe('gate 3: urgency overrides every request', () => {
  it.each([
    ['urgent + bloods', 'URGENT: please could the practice repeat her U&E within 24 hours.'],
    ['action today', 'Please could the practice contact her today and repeat the U&E.'],
    ['critical result', 'Potassium 6.9 ** CRITICAL ** - please act on this result.'],
    ['safeguarding', 'Safeguarding concern: please share information with the MASH before the strategy meeting.'],
    ['suspected cancer', 'The mass is highly suspicious of malignancy; please refer on the 2WW pathway.'],
    ['suicide risk', 'He has suicidal ideation and a stockpile of medication; please review his prescriptions.'],
    ['same-day prescription', 'Please could the GP issue a prescription today for his insulin.'],
    ['as soon as possible', 'Please could the practice see him as soon as possible and repeat the U&E.'],
    ['ASAP', 'Please review ASAP and arrange a repeat U&E.'],
    ['immediately', 'Please contact the patient immediately and arrange a repeat U&E.'],
    ['high priority', 'High priority: please could the practice arrange a repeat U&E.'],
    ['deterioration', 'She has deteriorated since discharge. Please could the practice arrange a repeat U&E.'],
    ['a critical potassium without the word', 'His potassium is 6.8 mmol/L. Please could the practice arrange a repeat U&E.'],
    ['a critical sodium', 'Sodium 118 mmol/L on today\'s sample. Please could the practice arrange a repeat U&E.'],
    ['a critical INR', 'Her INR is 8.2 so please withhold warfarin and recheck.'],
    ['query malignancy', 'Query malignancy on CT. Please could the practice arrange a repeat FBC.'],
    ['return urgently (an instruction, not advice)', 'Please ask her to return urgently to ED, and arrange a repeat U&E.'],
    ['come back urgently', 'He needs to come back urgently for review; please could the practice arrange a repeat U&E.'],
    ['red flag symptoms', 'She reports red flag symptoms of weight loss and rectal bleeding. Please could the practice arrange a repeat FBC.'],
    ['a condition on what we do, not advice to the patient', 'If you cannot contact her today, she should attend ED. Please could the practice arrange a repeat U&E.'],
    ['found collapsed', 'Her daughter rang to say she was found collapsed at home this morning. Please could you arrange a repeat U&E.'],
    ['acutely confused', 'He is acutely confused and agitated at home. Please arrange bloods including a calcium.'],
    ['bleeding heavily', 'She is bleeding heavily since the procedure. Please arrange a full blood count.'],
    ['stopped eating and drinking', 'He has stopped eating and drinking over the last two days. Please arrange a repeat U&E.'],
    // emergencies and risks found in stop 23's probes, each of which got the template before
    ['the last days of life', 'Mrs Allen is now in the last days of life and is being discharged home today. Please could you prescribe anticipatory medicines and arrange the syringe driver.'],
    ['an early warning score of 7', 'Mr Fox was seen in the virtual ward today with a NEWS2 score of 7 and a temperature of 39.2. Please arrange a urine culture and bloods.'],
    ['valproate in pregnancy, a sentence apart', 'Ms Reed told us at clinic that she is 8 weeks pregnant. She takes sodium valproate 500 mg twice daily. Please could you prescribe folic acid 5 mg.'],
    ['bleeding in early pregnancy', 'Mrs Holt is 10 weeks pregnant with heavy vaginal bleeding and abdominal pain since this morning. Please arrange an early pregnancy scan.'],
    ['a missed steroid in Addison\'s disease', "Mr Hunt has Addison's disease and has been vomiting for two days and has missed his hydrocortisone. Please could you issue a prescription for a hydrocortisone injection."],
    ['sudden loss of vision', 'Mrs Lane reported sudden loss of vision in her right eye this morning with flashes and a curtain over her vision. Please refer her to ophthalmology.'],
    ['a QTc of 560 ms', 'The ECG at clinic showed a QTc of 560 ms. Please arrange a repeat ECG in one week.'],
    ['emboli on a scan', 'The CT pulmonary angiogram done as an outpatient today shows bilateral pulmonary emboli. Please prescribe apixaban.'],
    ['unexplained bruising in a baby', 'We saw baby Lily (4 months) today with bruising to the ear which the parents could not explain. Please arrange bloods for clotting.'],
    ['a child being exploited', 'He has new expensive phones and is missing school. We are worried he is being exploited. Please could you refer him to CAMHS.'],
    ['signs of a stroke', 'Mr Price described new numbness of his face and difficulty finding words since yesterday evening. Please refer him to neurology.'],
    ['melaena on warfarin', 'Mr Hill is passing black tarry stools and is on warfarin. Please arrange an FBC and INR this week.'],
    ['a non-blanching rash', 'Amy (3) had a non-blanching rash and a fever when seen in clinic. Please arrange a follow up appointment.'],
    ['worsening angina', 'Mr Ross describes crushing central chest pain on minimal exertion that has got worse over the last week. Please could you arrange an echocardiogram.'],
    ['severe hypos at the wheel', 'Mr Cox had two severe hypos last week while driving his lorry. Please could you arrange an HbA1c.'],
    ['a head injury on apixaban', 'Mrs Bird (91, on apixaban) fell and hit her head yesterday and now has a headache. Please arrange a falls clinic referral.'],
    ['a person at risk at home', 'Mr Moss was found wandering on the motorway last night and his wife can no longer cope at home. Please refer him to social services.'],
    ['a doubled creatinine', 'His creatinine has doubled since starting ramipril. Please arrange a repeat U&E.'],
    ['clozapine not taken for days', 'Mr Dunn has not taken his clozapine for 5 days. Please could you prescribe his clozapine 300 mg at night.'],
    ['a psychotic relapse', 'Ms Kay is showing signs of a psychotic relapse and has stopped her antipsychotic. Please could you prescribe her olanzapine.'],
    ['mania', 'Mr Sale is manic, not sleeping and spending large sums of money. Please arrange a lithium level and U&E.'],
    ['a fever in a baby of six weeks', 'Baby Noah (6 weeks) had a temperature of 38.5 at the clinic. Please arrange a follow up appointment.'],
    ['green vomiting in a child', 'Ella (2) has had green bilious vomiting. Please arrange a follow-up appointment.'],
    ['reduced fetal movements', 'Mrs Tate (36 weeks) reports reduced fetal movements. Please arrange a follow-up appointment with the midwife.'],
    ['urinary retention', 'Mr Hall has not passed urine for 14 hours and has lower abdominal pain. Please refer him to urology.'],
    ['back pain with spinal metastases', 'Mrs Black has known spinal metastases and new severe back pain. Please arrange an MRI of her spine.'],
    ['cellulitis spreading fast', 'The cellulitis on his leg is spreading rapidly. Please could you prescribe flucloxacillin.'],
    ['tuberculosis grown', "Mr Ray's sputum sample has grown Mycobacterium tuberculosis. Please could you refer him to the TB service."],
    ['a contact of meningococcal disease', 'Ms Bond was a close contact of a case of meningococcal disease. Please could you prescribe ciprofloxacin prophylaxis.'],
    ['a threat of suicide, tablets stockpiled', 'Mr West has threatened to kill himself and says he has been stockpiling his tablets. Please could you review his prescriptions.'],
    ['a long lie', 'Mrs Hope was found on the floor after a long lie. Please arrange a falls clinic referral.'],
    ['a sickle cell crisis', 'Mr Obi is in a sickle cell crisis with severe pain at home. Please could you prescribe more codeine.'],
    ['hyperemesis', 'Mrs Lamb has hyperemesis and cannot keep any fluids down. Please could you prescribe cyclizine.'],
    ['a cold pale foot', "Mr Reid's right foot is cold, pale and painful. Please refer him to the vascular team."],
    ['a wound discharging pus', "Mrs Stone's wound has opened and is discharging pus. Please arrange a dressing appointment."],
    ['bleeding after a tonsillectomy', 'Sam (8) is bleeding from the mouth a week after his tonsillectomy. Please arrange a follow-up appointment.'],
    ['symptoms since this morning', 'He has had abdominal pain since this morning. Please arrange an ultrasound.'],
    ['trimethoprim with methotrexate', 'Mrs Grant was prescribed trimethoprim while on methotrexate. Please arrange an FBC.'],
    ['a drug given despite an allergy', 'Mr Hart was given co-amoxiclav despite his penicillin allergy and has a rash. Please could you prescribe an antihistamine.'],
    ['an injury inconsistent with the history', 'Leo (2) has a spiral fracture of the femur and the injury is inconsistent with the history given. Please arrange a follow-up appointment.'],
    ['severe hyponatraemia', 'His bloods show severe hyponatraemia. Please arrange a repeat U&E.'],
    ['a transfusion needed', 'Her haemoglobin has fallen and she needs a blood transfusion. Please arrange a repeat FBC.'],
    ['vomiting with no bowels opened', 'Mr Fry has not opened his bowels for 7 days and is vomiting with a distended abdomen. Please arrange a follow-up appointment.'],
    ['a black toe', 'Mr Amos has a black toe and spreading redness up his foot. Please could you prescribe antibiotics.'],
    ['a fracture missed in ED', 'The radiologist has reported a scaphoid fracture on the X-ray from ED that was missed at the time. Please arrange a follow-up appointment.'],
    ['complete heart block, a rate of 32', 'The ECG at clinic showed complete heart block with a heart rate of 32. Please arrange a 24 hour tape.'],
    ['severely dehydrated', 'Mrs Oak is severely dehydrated and has had no fluids for two days. Please arrange bloods.'],
    ['thirst and weight loss in a child', 'Mia (9) has lost weight and is very thirsty and passing a lot of urine. Please arrange an HbA1c.'],
    ['not eating or drinking', 'She is not eating or drinking and is very drowsy. Please arrange bloods.'],
    ['short of breath at rest', 'He is now short of breath at rest. Please arrange a chest X-ray.'],
    ['having seizures', 'He is having seizures again according to his wife. Please arrange bloods.'],
    // results past the critical limits, written without "critical" or "urgent"
    ['INR 6.5 (warfarin to withhold today)', 'His INR today was 6.5. Please could you arrange a repeat INR and adjust the warfarin dose.'],
    ['potassium 2.4', 'Her potassium was 2.4 on discharge. Please repeat her U&E.'],
    ['sodium 156', 'His sodium is 156. Please could the practice recheck his U&E.'],
    ['haemoglobin 62 g/L', 'His haemoglobin was 62 g/L today. Please arrange a repeat FBC.'],
    ['neutrophils 0.3', 'He was treated for sepsis; his neutrophils were 0.3 on discharge. Please arrange a repeat FBC.'],
    ['platelets 12', 'Platelets 12 this morning. Please could the practice arrange a repeat FBC.'],
    ['glucose 32 with ketones', 'His glucose was 32 mmol/L with ketones of 4. Please review his insulin and arrange bloods.'],
    ['glucose 2.1', 'Her capillary glucose was 2.1 at home. Please arrange an HbA1c.'],
    ['calcium 3.7', 'Adjusted calcium 3.7 on the latest bloods. Please recheck her bone profile.'],
    ['lithium 2.1', 'Lithium level 2.1 today. Please repeat his lithium level and U&E.'],
    ['acute kidney injury stage 3', 'Her creatinine has risen from 90 to 310 (AKI stage 3). Please repeat her U&E in 48 hours.'],
    // emergencies found now, written without "suspected"
    ['new ST depression', 'His troponin was raised at 350 and the ECG shows new ST depression. Please arrange an echo.'],
    ['a DVT confirmed today (anticoagulation cannot wait)', 'He has a DVT confirmed on ultrasound today. Please prescribe rivaroxaban.'],
    ['weakness of both legs', 'He has new weakness of both legs and urinary retention. Please could you arrange bloods.'],
    ['pre-eclampsia without the word', 'She is 34 weeks pregnant with a blood pressure of 168/112 and protein in her urine. Please arrange bloods.'],
    ['a blood pressure of 210/125', 'His BP was 210/125 in clinic. Please arrange 24 hour ambulatory BP monitoring.'],
    ['a risk to others', 'He told us he has been hearing voices telling him to harm others. Please refer him to the community mental health team.'],
    ['a request for tomorrow', 'Please arrange for his bloods to be taken tomorrow, as the result will decide whether he can have chemotherapy on Monday.'],
    ['K 6.8 and Na 119, as a lab writes them', 'K 6.8 on today\'s sample (not haemolysed). Na 119. Please repeat U&E.'],
    ['Hb 6.1 g/dL', 'Hb 6.1 g/dL on the latest count. Please repeat FBC.'],
    ['a clozapine red result', 'He remains on clozapine and his neutrophil count is 1.2 (red range). Please arrange a repeat FBC.'],
    ['digoxin 3.2', 'Her digoxin level is 3.2. Please repeat the level and U&E.'],
    ['bilirubin 350 in a baby', 'The baby (3 weeks old) has a bilirubin of 350 and is jaundiced. Please arrange a repeat bilirubin.'],
    ['saturations 84%', 'His oxygen saturations were 84% on air when we saw him in clinic. Please arrange a chest X-ray.'],
    ['a fever on chemotherapy', 'He has had a temperature of 39.5 with rigors since yesterday and is on chemotherapy. Please arrange bloods.'],
    ['chest pain at rest', 'He has chest pain at rest since this morning. Please arrange an ECG.'],
    ['the worst headache of her life', 'She has sudden onset of the worst headache of her life. Please arrange a CT head.'],
    ['facial droop', 'He has new facial droop and slurred speech since this morning. Please arrange a carotid doppler.'],
    ['a hot swollen knee', 'She has a hot swollen knee and a temperature. Please arrange bloods including CRP.'],
    ['vomiting blood', 'He has been vomiting blood this morning. Please arrange an FBC.'],
    ['a medication error', 'He was discharged on methotrexate 10 mg daily instead of weekly. Please could you contact him and arrange bloods.'],
    // safeguarding written without the word
    ['a child not brought', 'Jack (aged 4) was not brought to his appointment for the third time. We have discharged him; please re-refer if still needed.'],
    ['domestic abuse disclosed', 'She disclosed during clinic that her partner controls her money and has hit her. Please could you arrange a follow-up appointment with her.'],
    ['self-neglect', 'There are concerns about self-neglect; her home was found to be in a very poor state. Please arrange bloods.'],
    ['FGM', 'She has had FGM (type 2). Please could you refer her to the FGM clinic.'],
    ['a repeat within 48 hours', 'Please repeat her U&E in 48 hours.'],
    ['CK 25000', 'His CK is 25000. Please repeat CK and U&E.'],
    ['ALT 1200', 'His ALT is 1200. Please repeat LFTs.'],
    ['an eGFR fallen to 9', 'His eGFR has fallen to 9. Please arrange a repeat U&E.'],
    ['weight loss with iron-deficiency anaemia (NG12)', 'He has lost 10 kg in 2 months and has iron deficiency anaemia. Please refer him to gastroenterology.'],
    ['run out of insulin', 'He has run out of his insulin. Please issue a prescription.'],
    ['run out of epilepsy medication', 'She has run out of her epilepsy medication (levetiracetam). Please prescribe.'],
    ['adrenaline auto-injectors after anaphylaxis', 'He was seen in ED with anaphylaxis. Please prescribe two adrenaline auto-injectors.'],
    ['a bruise not fully explained in a child', 'The child attended with a bruise on the cheek that was not fully explained. Please could the practice arrange an FBC and clotting screen.'],
    ['burns with no explanation given', 'No explanation was given for the burns on his hand. Please arrange a repeat FBC.'],
    ['lips and tongue swollen after ramipril (angioedema)', 'Her lips and tongue swelled up after the first dose of ramipril yesterday evening. Please arrange a repeat U&E in 2 weeks.'],
    ['a sore throat on methotrexate', 'She is on methotrexate and has had a sore throat and mouth ulcers for three days. Please arrange an FBC.'],
    ['jaw claudication (giant cell arteritis)', 'She describes a new headache with jaw claudication and scalp tenderness. Please arrange an ESR and CRP.'],
    ['a sudden painful testicle', 'He has sudden severe pain in his left testicle since this afternoon. Please arrange an ultrasound.'],
    ['a floppy baby, not feeding', 'Baby Amy (4 months) has been floppy and not feeding well today. Please arrange a follow-up weight check.'],
    ['tablets taken last night', 'She took 20 paracetamol tablets last night and has not told anyone. Please arrange an LFT.'],
    ['a bank card taken by her son', 'Her son has taken her bank card and she has no money for food. Please arrange a repeat FBC.'],
    ['a hot, red, swollen foot', 'His right foot is hot, red and swollen, possibly an acute Charcot foot. Please arrange an X-ray of the foot.'],
    ['a peak flow of 40% of her best', 'Her peak flow is 40% of her best and she cannot complete sentences. Please arrange spirometry in 6 weeks.'],
    ['cut her arms, cannot keep herself safe', 'She cut her arms again last night and says she cannot keep herself safe. Please arrange a follow up appointment.'],
    ['a BMI of 13', 'Her BMI is now 13 and she is fainting on standing. Please arrange U&E and bone profile.'],
    ['heavy bleeding after delivery', 'She is having heavy bleeding with clots ten days after delivery. Please arrange an FBC.'],
    ['strange beliefs since the birth', 'Since the birth she has been hearing her baby is evil and has not slept for three nights. Please arrange a TFT.'],
    ['exposed to chickenpox on prednisolone', 'He is on prednisolone 40 mg and was exposed to chickenpox yesterday. Please arrange a repeat HbA1c.'],
    ['a nosebleed that will not stop, INR 4.8', 'His INR is 4.8 and he has had a nosebleed that will not stop. Please arrange a repeat INR.'],
    ['headaches near a gas boiler', 'The whole family have headaches and nausea that improve when they leave the house; they have a gas boiler. Please arrange an FBC.'],
    ['sudden breathlessness and chest pain', 'He developed sudden breathlessness and sharp chest pain this morning. Please arrange a chest X-ray.'],
  ])('%s -> urgent_clinical (review)', (_name, newText) => {
    const result = classify(message({ newText }), policy, NOW);
    expect(result).toMatchObject({ category: 'urgent_clinical', action: 'review' });
    const reason = result.reasons.find((r) => r.gate === 'urgency');
    expect(reason?.matched).toBeTruthy();
    expect(reason?.where).toBe('body');
  });

  it.each([
    ['a forward ("FW:")', 'FW: Lab result', ''],
    ['a forward behind "RE:" and a banner', '[EXTERNAL] RE: Fwd: Lab result', ''],
    ['a forward with its marker and a plain subject', 'Lab result', '---------- Forwarded message ---------\n'],
  ])('the forwarded message of %s counts for urgency: "please action the below" is about it', (_name, subject, marker) => {
    const forwarded = `${marker}From: Biochemistry <lab@northmere.nhs.uk>\nSent: 19 November 2026 08:10\n\nCRITICAL RESULT: potassium 6.9 mmol/L. Action today.`;
    const result = classify(message({ subject, newText: 'Please action the below and arrange a repeat U&E.', quotedText: forwarded }), policy, NOW);
    expect(result).toMatchObject({ category: 'urgent_clinical', action: 'review' });
    expect(result.reasons.find((r) => r.gate === 'urgency')).toMatchObject({ where: 'forwarded' });
  });

  it('a reply that points at the history below ("please see Dr Rahman\'s note below") counts its urgency, like a forward', () => {
    const note = 'From: Dr Rahman <rahman@northmere.nhs.uk>\nSent: 19 November 2026 08:10\n\nHis potassium was 6.9 this morning; he needs to be seen today.';
    const reply = message({ subject: 'RE: Mr Holloway', newText: "Please see Dr Rahman's note below. Could the practice arrange a repeat U&E in 2 weeks.", quotedText: note });
    const result = classify(reply, policy, NOW);
    expect(result).toMatchObject({ category: 'urgent_clinical', action: 'review' });
    expect(result.reasons.find((r) => r.gate === 'urgency')).toMatchObject({ where: 'forwarded' });
  });

  it('the quoted history of a reply does not count for urgency, nor a routine forwarded message', () => {
    const critical = 'From: Biochemistry <lab@northmere.nhs.uk>\nSent: 19 November 2026 08:10\n\nCRITICAL RESULT: potassium 6.9 mmol/L. Action today.';
    const reply = message({ subject: 'RE: Lab result', newText: 'Please arrange a repeat U&E in 2 weeks.', quotedText: critical });
    expect(classify(reply, policy, NOW).category).toBe('blood_test_request');
    const routine = 'From: Renal Clinic <renal@northmere.nhs.uk>\n\nThank you for seeing Mrs Test. Her potassium was 4.6.';
    const forward = message({ subject: 'FW: Clinic letter', newText: 'Please arrange a repeat U&E in 2 weeks.', quotedText: routine });
    expect(classify(forward, policy, NOW).category).toBe('blood_test_request');
  });

  it('an urgent subject counts', () => {
    expect(classify(message({ subject: 'URGENT - prescription needed', newText: 'Please prescribe the attached medicines.' }), policy, NOW).category).toBe('urgent_clinical');
  });

  it('an urgent subject counts when the body and an attached letter have text too (each field keeps what was found in it)', () => {
    const letter = { filename: 'letter.pdf', contentType: 'application/pdf', size: 5000, text: 'Clinic letter. Diagnosis: hypertension. Medication: amlodipine 5 mg.' };
    const urgentSubject = message({ subject: 'URGENT - prescription needed', newText: 'Please prescribe the attached medicines.', attachments: [letter] });
    for (let round = 0; round < 3; round++) expect(classify(urgentSubject, policy, NOW).category).toBe('urgent_clinical');
  });

  it.each([
    ['"urgent" in the footer', { footerText: 'If your query is urgent please telephone 01632 960000.' }],
    ['"urgent" in quoted history', { quotedText: '> URGENT: please call today' }],
    ['a non-urgent request', { newText: 'This is a non-urgent request: please could the practice arrange a repeat U&E in 2 weeks.' }],
    ['an urgent-queries line in the new text', { newText: 'Please could the practice arrange a repeat U&E in 2 weeks. For urgent queries call the secretaries.' }],
    ['safety-netting advice to the patient', { newText: 'Please could the practice arrange a repeat U&E in 2 weeks. She was advised to seek urgent medical attention if she becomes unwell.' }],
    ['no risk concerns', { newText: 'There are no safeguarding concerns. Please could the practice arrange a repeat U&E in 2 weeks.' }],
    ['results within the critical limits', { newText: 'Potassium 4.6, sodium 138, INR 2.5. Please could the practice arrange a repeat U&E in 2 weeks.' }],
    ['a number of days after a result word', { newText: 'Please could the practice recheck his potassium 7 days after starting ramipril.' }],
    ['no features of malignancy', { newText: 'No features of malignancy on CT. Please could the practice arrange a repeat U&E in 2 weeks.' }],
    ['no deterioration', { newText: 'There was no deterioration at review. Please could the practice arrange a repeat U&E in 2 weeks.' }],
    ['an attendance at the Emergency Department', { newText: 'She was seen in the Emergency Department on Tuesday. Please could the practice arrange a repeat U&E in 2 weeks.' }],
    ['"immediately" in the footer', { footerText: 'If you received this in error please notify the sender immediately.' }],
    ['"immediately" in a past event', { newText: 'She was started immediately on antibiotics and recovered well. Please could the practice arrange a repeat U&E in 2 weeks.' }],
    ['no red flags', { newText: 'There are no red flag symptoms. Please could the practice arrange a repeat U&E in 2 weeks.' }],
    ['advice to attend ED if chest pain', { newText: 'If she has chest pain she should attend ED. Please could the practice arrange a repeat U&E in 2 weeks.' }],
    ['advice to return urgently if unwell', { newText: 'She was advised to return urgently if her symptoms worsen. Please could the practice arrange a repeat U&E in 2 weeks.' }],
    ['advice to come back urgently should it recur', { newText: 'He knows to come back urgently should the bleeding recur. Please could the practice arrange a repeat U&E in 2 weeks.' }],
    ['a collapse that led to the admission', { newText: 'She was admitted after being found collapsed at home, and has made a good recovery. Please could the practice arrange a repeat U&E in 2 weeks.' }],
    ['confusion that has resolved', { newText: 'He presented with acute confusion secondary to a UTI, now resolved. Please could the practice arrange a repeat U&E in 2 weeks.' }],
    ['eating and drinking well', { newText: 'She is eating and drinking well. Please could the practice arrange a repeat U&E in 2 weeks.' }],
    ['a deterioration that is over', { newText: 'His renal function deteriorated during the admission and has recovered. Please could the practice arrange a repeat U&E in 2 weeks.' }],
    ['an HbA1c, not a haemoglobin', { newText: 'His HbA1c was 62 mmol/mol. Please could the practice arrange a repeat U&E in 2 weeks.' }],
    ['results within the limits', { newText: 'Hb 121, platelets 150, neutrophils 3.2, potassium 4.2, sodium 138, INR 2.5, glucose 6.2, adjusted calcium 2.41, lithium level 0.7. Please could the practice arrange a repeat U&E in 2 weeks.' }],
    ['doses, not levels', { newText: 'He takes lithium 400 mg at night and calcium carbonate 1.5 g daily. Please could the practice arrange a repeat U&E in 2 weeks.' }],
    ['a DVT in the history', { newText: 'He had a DVT in 2019, treated with apixaban. Please could the practice arrange a repeat U&E in 2 weeks.' }],
    ['pre-eclampsia in a past pregnancy', { newText: 'She had pre-eclampsia in her last pregnancy and her blood pressure is 128/80. Please could the practice arrange a repeat U&E in 2 weeks.' }],
    ['no risk to others', { newText: 'He denies thoughts of harming others and there are no command hallucinations. Please could the practice arrange a repeat U&E in 2 weeks.' }],
    ['doses and normal values', { newText: 'He takes vitamin K 2.5 mg, digoxin 62.5 micrograms and lithium 400 mg. SpO2 96% on air, bilirubin 12. Please could the practice arrange a repeat U&E in 2 weeks.' }],
    ['advice about a fever on chemotherapy', { newText: 'If she has a temperature while on chemotherapy she should call the acute oncology line. Please could the practice arrange a repeat U&E in 2 weeks.' }],
    ['no evidence of neglect', { newText: 'There was no evidence of neglect or exploitation. Please could the practice arrange a repeat U&E in 2 weeks.' }],
    ['no weight loss, and normal enzymes', { newText: 'He has iron deficiency anaemia but no weight loss. CK 150, ALT 45, eGFR 62. His back is sore. Please could the practice arrange a repeat U&E in 2 weeks.' }],
    ['not pregnant, on the prevention programme', { newText: 'She is not pregnant and is on the pregnancy prevention programme for her valproate. Please could the practice arrange a repeat U&E in 2 weeks.' }],
    ['a low early warning score', { newText: 'His NEWS2 score was 1 on discharge. Please could the practice arrange a repeat U&E in 2 weeks.' }],
    ['no severe hypos, no rash that does not blanch', { newText: 'He has had no severe hypos and there was no non-blanching rash. Please could the practice arrange a repeat U&E in 2 weeks.' }],
    ['a normal QTc, and no emboli', { newText: 'QTc was 440 ms and the CTPA shows no pulmonary embolism. Please could the practice arrange a repeat U&E in 2 weeks.' }],
    ['coping at home, an old head injury', { newText: 'He is coping well at home. He had a head injury in 2010. He is on warfarin for AF. Please could the practice arrange a repeat U&E in 2 weeks.' }],
    ['black stools on iron, chest pain that has settled', { newText: 'She reports black stools since starting ferrous sulfate, and her chest pain has settled. Please could the practice arrange a repeat U&E in 2 weeks.' }],
    ['no unexplained bruising', { newText: 'There was no unexplained bruising. Please could the practice arrange a repeat U&E in 2 weeks.' }],
    ['"dying to" get home', { newText: 'She is dying to get home. Please could the practice arrange a repeat U&E in 2 weeks.' }],
    ['measles as a child, a vaccine, TB long treated', { newText: 'He had measles as a child, has had the meningococcal vaccine, and had pulmonary TB in 2015, fully treated. Please could the practice arrange a repeat U&E in 2 weeks.' }],
    ['a baby with no fever, cold white fingers', { newText: 'Baby Jack (6 weeks) has no fever and is feeding well. His mother has cold, white fingers in winter. Please could the practice arrange a repeat U&E in 2 weeks.' }],
    ['hyperemesis in a past pregnancy, a depot as usual', { newText: 'She had a history of hyperemesis in her last pregnancy and her depot is given as usual. Please could the practice arrange a repeat U&E in 2 weeks.' }],
    ['fasting for 12 hours', { newText: 'He should fast for 12 hours before. Please could the practice arrange a repeat U&E in 2 weeks.' }],
    ['no food or fluids before a procedure, a normal pulse', { newText: 'He should have no food or fluids for 6 hours before the procedure; his pulse was 68 and regular. Please could the practice arrange a repeat U&E in 2 weeks.' }],
    ['not thirsty', { newText: 'She is not thirsty and is passing urine normally; her history is consistent with the findings. Please could the practice arrange a repeat U&E in 2 weeks.' }],
  ])('%s does not make a routine request urgent', (_name, overrides) => {
    const base = { newText: 'Please could the practice arrange a repeat U&E in 2 weeks.' };
    const result = classify(message({ ...base, ...overrides }), policy, NOW);
    expect(result.category).toBe('blood_test_request');
  });

  it.each([
    ['no lip swelling', 'There was no swelling of the lips or tongue. Please arrange a repeat U&E in 2 weeks.'],
    ['no contact cp', 'No known contact with chickenpox. Please arrange a repeat FBC.'],
    ['inr no bleed', 'His INR was 2.5 with no bleeding. Please arrange a repeat INR in 4 weeks.'],
    ['no jaw', 'She has no jaw claudication. Please arrange a repeat ESR in 4 weeks.'],
    ['bmi 32', 'His BMI is 32. Please arrange a repeat HbA1c in 3 months.'],
    ['bmi 24 5', 'BMI of 24.5. Please arrange a repeat HbA1c in 3 months.'],
    ['no sudden sob', 'No sudden breathlessness. Please arrange spirometry.'],
    ['not cut', 'She has not cut herself since March. Please arrange a follow up appointment.'],
    ['peak flow 90', 'Her peak flow is 90% of her best. Please arrange spirometry.'],
    ['boiler ok', 'Her boiler has been serviced. Please arrange a repeat FBC.'],
    ['mtx routine', 'She is on methotrexate 15 mg weekly. Please arrange an FBC and LFT every 3 months.'],
    ['an injury explained', 'The bruise was explained by a fall from his bike, witnessed by his teacher. Please arrange an FBC.'],
  ])('%s: the request is answered as before (a near miss of the urgency rules added in stops 24 and 25)', (_name, newText) => {
    const result = classify(message({ newText }), policy, NOW);
    expect(result.category).not.toBe('urgent_clinical');
    expect(result.action).toBe('reply');
  });
});

describe('words that look like a request and are not one', () => {
  it.each([
    ['a repeat prescription to amend, and a blood pressure', 'Please stop his amlodipine and amend the repeat prescription accordingly, as his blood pressure has been low in clinic.'],
    ['results to send us', 'Please could you send us his most recent U&E results and a copy of his current medication list before his surgery next week.'],
    ['B12 injections, a treatment the practice gives', 'Please arrange his B12 injections every 12 weeks at the practice.'],
  ])('%s: no automatic reply', (_name, newText) => {
    const result = classify(message({ newText }), policy, NOW);
    expect(result.action).not.toBe('reply');
    expect(result.category).not.toBe('blood_test_request');
  });

  it.each([
    ['an open invitation to refer back', 'I have discharged him from clinic. Should his symptoms worsen, please feel free to refer him back to our service.'],
    ['advice left to the practice', 'If he remains symptomatic after 6 weeks, the GP may wish to arrange a repeat chest X-ray.'],
  ])('%s: no automatic reply', (_name, newText) => {
    expect(classify(message({ newText }), policy, NOW).action).not.toBe('reply');
  });

  it.each([
    ['bloods, and their results sent', 'Please could you arrange a repeat U&E and send us the results.', 'blood_test_request'],
    ['a blood pressure to monitor', 'Please could the practice arrange 24 hour blood pressure monitoring before clinic.', 'investigation_request'],
  ])('%s: still the request it is', (_name, newText, category) => {
    expect(classify(message({ newText }), policy, NOW)).toMatchObject({ category, action: 'reply' });
  });
});

describe('sensitive subjects: a request a person must handle', () => {
  it.each([
    ['the patient died', 'We are sorry to inform you that Mr Test passed away on the ward last night. Please could you arrange to cancel his outstanding blood tests.', 'death', 'blood_test_request'],
    ['the patient is deceased', 'This patient is deceased. Please could you cancel the echocardiogram request.', 'death', 'investigation_request'],
    ['a formal complaint', 'The family have made a formal complaint. Please could the practice arrange the repeat bloods as previously discussed.', 'complaint', 'blood_test_request'],
    ['the coroner', 'The coroner has asked us for a statement about his care. Please could the practice arrange a repeat U&E in 2 weeks.', 'legal', 'blood_test_request'],
    ['a request sent in error', 'Apologies, my previous email asking you to arrange a repeat U&E was sent in error. Please disregard it.', 'withdrawn', 'blood_test_request'],
    ['an arrangement made with the practice', 'As discussed on the phone this morning, could you please prescribe the apixaban 5 mg twice daily that we started in clinic.', 'agreed-with-practice', 'prescribing_request'],
    ['a dispute of our automatic reply', 'We note your automated response. However, under our local agreement this is a GP responsibility. Please arrange the bloods as requested.', 'disputes-reply', 'blood_test_request'],
    ['a dispute naming our case reference', 'We disagree with your reply PCN-000123. Please arrange the repeat FBC.', 'disputes-reply', 'blood_test_request'],
    ['a change of medicine asked too', 'His latest potassium shows hyperkalaemia. Please could you stop his spironolactone and repeat the U&E next week.', 'medication-change-asked', 'blood_test_request'],
    ['a dose to increase, asked too', 'Please increase his bisoprolol to 5 mg once daily and repeat his U&E in 2 weeks.', 'medication-change-asked', 'blood_test_request'],
    ['a dose to titrate', 'We would be grateful if you could titrate his ramipril up to 10 mg, checking his U&E after each increase.', 'medication-change-asked', 'blood_test_request'],
    ['a switch of medicine', 'Please switch her from warfarin to apixaban 5 mg twice daily and repeat her FBC and renal function in one week.', 'medication-change-asked', 'blood_test_request'],
    ['a dose to double', 'Please double her furosemide to 80 mg each morning and check U&E in a week.', 'medication-change-asked', 'blood_test_request'],
    ['a medicine to add in', 'Please add in dapagliflozin 10 mg daily and repeat his renal function in 4 weeks.', 'medication-change-asked', 'blood_test_request'],
    ['a thyroid dose to increase', 'Please increase her levothyroxine to 100 micrograms daily and recheck her TFTs in 6 weeks.', 'medication-change-asked', 'blood_test_request'],
    ['the next supply of a medicine asked too', 'Please arrange a repeat U&E in 2 weeks. He will need a further supply of his apixaban.', 'medication-supply-asked', 'blood_test_request'],
    ['an ongoing prescription asked too', 'Please arrange a repeat FBC. She needs an ongoing prescription for her mesalazine.', 'medication-supply-asked', 'blood_test_request'],
    ['bloods under an agreed shared care', 'He is now stable on methotrexate; under the shared care agreement please arrange his 3-monthly FBC, U&E and LFT.', 'shared-care-or-practice-service', 'blood_test_request'],
    ['monitoring the practice now provides', 'Warfarin monitoring will now be undertaken by the practice under the local enhanced service; please arrange his next INR in one week.', 'shared-care-or-practice-service', 'blood_test_request'],
    ["the practice's own annual review", 'Please arrange his annual diabetic review, including his HbA1c and foot check, as part of his routine care at the practice.', 'practice-routine-review', 'blood_test_request'],
    ['an ECG suggested beside a prescription', 'Please start bisoprolol 2.5 mg daily. I would suggest a repeat ECG in 6 weeks.', 'further-work-suggested', 'prescribing_request'],
    ['a scan recommended beside bloods', "Please arrange a repeat ESR and CRP in 4 weeks. I'd also recommend a DEXA scan given her steroid use.", 'further-work-suggested', 'blood_test_request'],
    ['a referral it may be worth making', 'Please repeat her LFTs in 6 weeks. It may be worth referring her to dietetics.', 'further-work-suggested', 'blood_test_request'],
    ['physiotherapy she would benefit from', 'Please issue a fit note for 6 weeks. She would benefit from a referral to physiotherapy.', 'further-work-suggested', 'fit_note_request'],
    ['an echo he should have', 'Please arrange U&E in 2 weeks. He should also have an echocardiogram at some point.', 'further-work-suggested', 'blood_test_request'],
    ['monitoring he will need', 'Please prescribe carbimazole 20 mg daily. He will need his thyroid function monitored every 4-6 weeks.', 'further-work-suggested', 'prescribing_request'],
    ['a test that would be helpful', 'Please refer him on to the sleep clinic. A ferritin level would be helpful.', 'further-work-suggested', 'onward_referral_request'],
    ['a check it would be advisable to have', 'Please prescribe dapagliflozin 10 mg daily. It would be advisable for her to have a review of her renal function in a month.', 'further-work-suggested', 'prescribing_request'],
    ['a test to consider', 'Please prescribe alendronic acid 70 mg weekly. Please also consider checking her vitamin D.', 'further-work-suggested', 'prescribing_request'],
    ['a treatment to consider', 'New AF, CHA2DS2-VASc 4, not anticoagulated. Please review and consider anticoagulation, and arrange a repeat TFT.', 'further-work-suggested', 'blood_test_request'],
    ['a home visit asked too', 'He is now housebound. Please could the GP arrange a home visit to review him and arrange his bloods.', 'practice-own-care-asked', 'blood_test_request'],
    ['the GP asked to see her at home', 'Please could the GP see her at home next week and arrange a repeat U&E.', 'practice-own-care-asked', 'blood_test_request'],
    ["a child's immunisations asked too", 'Please arrange his 12-month immunisations at the practice and a repeat FBC.', 'practice-own-care-asked', 'blood_test_request'],
    ["an entry on the practice's register", 'Please add him to your palliative care register and arrange a repeat U&E in one week.', 'practice-own-care-asked', 'blood_test_request'],
    ['a resuscitation decision to discuss', 'A DNACPR decision was made on the ward. Please could you discuss this with the family and arrange his repeat bloods.', 'resuscitation-decision', 'blood_test_request'],
    ['driving advice to give', 'He has had a first seizure; please arrange his bloods and remind him to inform the DVLA.', 'driving-advice', 'blood_test_request'],
    ['a diuretic to adjust, in a list of GP actions', 'GP actions: 1. Repeat U&E in 1 week. 2. Monitor weight and adjust diuretics accordingly.', 'medication-management-asked', 'blood_test_request'],
    ['a steroid to wean', 'GP to: arrange FBC in 2 weeks; wean prednisolone by 5 mg weekly to stop.', 'medication-management-asked', 'blood_test_request'],
    ['a statin to restart', 'GP actions: repeat LFTs in 2 weeks and restart his statin if they have improved.', 'medication-management-asked', 'blood_test_request'],
    ['a beta-blocker to up-titrate', 'Please repeat his U&E in a week and up-titrate bisoprolol as tolerated.', 'medication-management-asked', 'blood_test_request'],
    ['a repeat prescription to update', 'Please repeat U&E. Amlodipine was started instead of ramipril; please update his repeat prescription.', 'medication-management-asked', 'blood_test_request'],
    ['a dose that should be reduced', 'Please arrange a chest X-ray in 6 weeks. Her prednisolone should be reduced by 5 mg a week.', 'medication-management-asked', 'investigation_request'],
    ['a dose to raise at the GP surgery', 'Please repeat his U&E. His ramipril dose should be increased at the GP surgery if K is normal.', 'medication-management-asked', 'blood_test_request'],
    ['a request for another patient', 'Mr Brown attended with his wife, who is also registered with you. Please could you arrange a repeat U&E for her as she mentioned feeling tired.', 'another-patient', 'blood_test_request'],
    ['a complaint to an MP', 'The family are unhappy with his care and have contacted their MP. Please could you arrange a repeat FBC.', 'complaint', 'blood_test_request'],
    ['mental capacity', 'Mrs Knight lacks capacity to consent. Please could you arrange a best interests meeting and refer her for a DoLS assessment.', 'capacity-legal', 'onward_referral_request'],
    ['a reactive HIV test', "Ms Grey's HIV test from clinic was reactive. Please could you let her know the result.", 'new-positive-test', 'results_followup_request'],
  ])('%s: the request is kept as its category but left for a person, naming the rule and the words', (_name, newText, rule, category) => {
    const result = classify(message({ newText }), policy, NOW);
    expect(result).toMatchObject({ category, action: 'review' });
    expect(result.reasons.find((r) => r.gate === 'sensitive')).toMatchObject({ rule, where: 'body' });
  });

  it.each([
    ["the patient's own bereavement", 'She presents with low mood after a recent bereavement. Please could the practice prescribe sertraline 50 mg once daily.'],
    ['a medicine the hospital stopped itself', 'We stopped her bisoprolol on the ward. Please arrange a repeat U&E in 2 weeks.'],
    ['a dose the hospital increased itself', 'We have increased his bisoprolol to 5 mg today. Please arrange a repeat U&E in 2 weeks.'],
    ['more frequent blood tests', 'Please increase the frequency of his blood tests to monthly.'],
    ['no further supply needed', 'He requires no further prescriptions from us. Please arrange a repeat U&E in 2 weeks.'],
    ['a supply not needed', "He won't need any further supplies. Please arrange a repeat U&E in 2 weeks."],
    ['a supply the hospital gave', "Two weeks' supply has been provided as TTO. Please arrange a repeat FBC in 1 week."],
    ['an annual review in clinic', 'We will see him for his annual review in clinic. Please arrange a repeat FBC in 1 week.'],
    ['a B12 level', 'Please arrange FBC, ferritin, B12 and folate in 4 weeks.'],
    ['care shared with the district nurses', 'Care of his wound is shared with the district nurses. Please arrange a repeat CRP in 1 week.'],
    ['an appointment to change', 'Please could you change her appointment to next week and arrange a repeat U&E.'],
    ['a benign biopsy, a negative HIV test', 'The biopsy shows no malignancy and the HIV test was negative. Please arrange a repeat U&E in 2 weeks.'],
    ['a follow-up the hospital suggests for itself', 'Please arrange U&E in 2 weeks. I would suggest we repeat his ECG when we next see him.'],
    ['a review recommended in its own clinic', 'Please prescribe bisoprolol 2.5 mg daily. I would recommend a review in our clinic in 6 weeks.'],
    ['checks at the anticoagulation clinic', 'Please prescribe warfarin as per the anticoagulation clinic. He will need his INR checked at the anticoagulation clinic.'],
    ['a benefit that is not further work', 'Please issue a fit note for 4 weeks. She would benefit from a phased return to work.'],
    ['a referral the hospital will consider', 'Please arrange a repeat B12 level. We will consider referring him to the memory clinic once it is back.'],
    ['no further tests suggested', 'Please prescribe mebeverine 135 mg three times a day. No further blood tests would be helpful at this stage.'],
    ['a follow-up with the hospital', 'Please arrange an HbA1c in 3 months. She should have a follow-up with us afterwards.'],
    ['a visit by the hospital at home team', 'Our hospital at home team will see him at home tomorrow. Please arrange a repeat U&E in one week.'],
    ['a home visit the hospital arranges', 'We will arrange a home visit by the community therapy team. Please arrange a repeat FBC in 2 weeks.'],
    ['a vaccine already given', 'He had his flu vaccine last week. Please arrange a repeat FBC in 2 weeks.'],
    ['a register he is already on', 'He is already on the palliative care register. Please arrange a repeat U&E in one week.'],
    ['a driving restriction the hospital advised', 'He works as an HGV driver and cannot return to work (DVLA: must not drive an HGV for at least 6 weeks). Please could the GP provide a fit note for 6 weeks.'],
    ["a relative who is not a patient's request", 'His wife is a nurse and will help with his medicines. Please arrange a repeat U&E in 2 weeks.'],
    ['diuretics the hospital adjusted', 'We adjusted his diuretics on the ward. GP actions: repeat U&E in 1 week.'],
    ['a steroid the hospital will wean', 'We will wean her prednisolone in clinic. Please arrange a chest X-ray in 6 weeks.'],
    ['medicines the hospital changed', 'We have stopped his ramipril and started amlodipine. Please arrange a repeat U&E in 1 week.'],
    ['a dose reduced on the ward', 'Please repeat his U&E in 1 week; his dose of ramipril was reduced on the ward.'],
    ['fluids, not medicines', 'Please check his U&E in 1 week and increase his fluid intake.'],
    ['a dose to raise in clinic', 'Please repeat U&E in 2 weeks. The dose can be increased in clinic if needed.'],
    ['diuretics the hospital team will adjust', 'Please repeat U&E in 1 week. The heart failure team will adjust his diuretics.'],
    ['a treatment the hospital will consider', 'We will consider starting anticoagulation in clinic. Please arrange a repeat TFT.'],
    ['no sensitive subject', 'Please could the practice arrange a repeat U&E in 2 weeks.'],
  ])('%s: answered as before', (_name, newText) => {
    const result = classify(message({ newText }), policy, NOW);
    expect(result.action).toBe('reply');
    expect(result.reasons.some((r) => r.gate === 'sensitive')).toBe(false);
  });

  it('a letter for information that mentions a death is filed as before (only replies are held)', () => {
    const result = classify(message({ newText: 'For information: Mr Test died peacefully on the ward on 18/11/2026. No action is needed from the practice.' }), policy, NOW);
    expect(result.action).toBe('file');
  });
});

describe('gate 4: category rules', () => {
  it.each([
    ['blood_test_request', 'Dr Rahman has asked if the practice could please arrange a repeat U&E in 2 weeks and forward the result.'],
    ['investigation_request', 'We would be grateful if the practice could arrange a 24 hour Holter monitor and send us the report.'],
    ['prescribing_request', 'As the clinic cannot supply outpatient medication, please could you prescribe amitriptyline 10mg at night.'],
    ['re_referral_request', 'He did not attend two appointments and has been discharged. If still required, please re-refer via e-RS.'],
    ['onward_referral_request', 'I would be grateful if you could refer him to the Respiratory team for assessment. I have discharged him from clinic.'],
    ['fit_note_request', 'Mr Pemberton has asked if you could issue a further fit note for 6 weeks.'],
    ['results_followup_request', 'Could you please let Mrs Woods know the result of her MRI, which was normal.'],
    ['appointment_request', 'We cannot reach him. Please could the practice ask him to contact the Booking Centre to book his appointment.'],
    ['shared_care_request', 'We would like to transfer prescribing and monitoring to the practice under the shared care agreement. Please confirm acceptance.'],
  ])('%s', (category, newText) => {
    const result = classify(message({ newText }), policy, NOW);
    expect(result.category).toBe(category);
    expect(result.confidence).toBeGreaterThanOrEqual(policy.data.thresholds.minConfidence);
    expect(result.organisation).toBe('Northmere University Hospitals NHS Trust');
    const reason = result.reasons.find((r) => r.gate === 'category' && r.category === category);
    expect(reason).toMatchObject({ where: 'body' });
    expect(reason?.matched?.length).toBeGreaterThan(0);
    expect(reason?.matched?.length).toBeLessThanOrEqual(60);
  });

  it.each([
    ['a line break and a double space', 'Please could you\n  arrange a repeat U&E.', 'Please could you arrange a repeat U&E'],
    ['a tab and a no-break space', 'Please could you\tarrange a\u00a0repeat U&E.', 'Please could you arrange a repeat U&E'],
    ['single spaces only', 'Please could you arrange a repeat U&E.', 'Please could you arrange a repeat U&E'],
  ])('quotes the words that matched on one line with single spaces (%s)', (_name, newText, quoted) => {
    const result = classify(message({ newText }), policy, NOW);
    expect(result.reasons.find((r) => r.rule === 'asks-for-bloods')?.matched).toBe(quoted);
  });

  it('reads the text of an attachment', () => {
    const result = classify(message({ newText: 'Please see attached letter.', attachments: [{ filename: 'letter.pdf', contentType: 'application/pdf', size: 5000, text: 'We would be grateful if you could issue a fit note (Med3) for 4 weeks.' }] }), policy, NOW);
    expect(result.category).toBe('fit_note_request');
    expect(result.reasons.some((r) => r.where === 'attachment')).toBe(true);
  });

  it('an attached letter marked urgent makes the message urgent: its request is left for a person', () => {
    const letter = 'URGENT - critical result. Potassium 6.9 mmol/L. Please arrange a repeat U&E with the GP today.';
    const result = classify(message({ newText: 'Please see the attached letter.', attachments: [{ filename: 'letter.pdf', contentType: 'application/pdf', size: 5000, text: letter }] }), policy, NOW);
    expect(result.category).toBe('urgent_clinical');
    expect(result.action).toBe('review');
    const urgency = result.reasons.filter((r) => r.gate === 'urgency');
    expect(urgency.map((r) => r.where)).toEqual(expect.arrayContaining(['attachment']));
    expect(urgency.map((r) => r.rule)).toEqual(expect.arrayContaining(['urgent', 'critical-result']));
  });

  it('a cancel cue in the attached letter ("non-urgent") cancels its urgency; the request is scored', () => {
    const letter = 'This is a non-urgent request. We would be grateful if you could arrange a repeat U&E in 4 weeks.';
    const result = classify(message({ newText: 'Please see the attached letter.', attachments: [{ filename: 'letter.pdf', contentType: 'application/pdf', size: 5000, text: letter }] }), policy, NOW);
    expect(result.category).toBe('blood_test_request');
    expect(result.reasons.some((r) => r.gate === 'urgency')).toBe(false);
  });

  it.each([
    ['blood_test_request', 'The GP does not need to arrange any bloods.'],
    ['blood_test_request', 'Please do not arrange bloods; we will do them in clinic.'],
    ['blood_test_request', 'There is no need for the practice to arrange a repeat U&E.'],
    ['blood_test_request', 'For information only: the patient has been asked to book her own blood test at the phlebotomy service.'],
    ['prescribing_request', "Please don't prescribe anything new; we will review in clinic."],
    ['investigation_request', 'There is no need to arrange an echo.'],
    ['onward_referral_request', 'Please do not refer him to cardiology; we have done so.'],
    ['fit_note_request', 'The GP does not need to issue a fit note.'],
    ['results_followup_request', 'There is no need for the practice to chase the results.'],
    ['appointment_request', 'Please do not book a follow-up appointment.'],
  ])('a request said not to be one is not answered (%s: "%s")', (category, newText) => {
    const result = classify(message({ newText }), policy, NOW);
    expect(result.action).not.toBe('reply');
    expect(result.reasons.some((r) => r.gate === 'cancel' && r.rule === 'not-asked' && r.category === category)).toBe(true);
  });

  it.each([
    ['blood_test_request', 'Please do not stop the ramipril. Please arrange a repeat U&E in 2 weeks.'],
    ['blood_test_request', 'Please could you arrange bloods; there is no need to stop her tablets.'],
    ['blood_test_request', 'Please arrange a repeat U&E. No need to book a follow-up appointment.'],
    ['prescribing_request', 'Please could the practice prescribe amlodipine 5 mg; do not change her other medicines.'],
  ])('a "do not" about something else leaves the request (%s: "%s")', (category, newText) => {
    const result = classify(message({ newText }), policy, NOW);
    expect(result).toMatchObject({ category, action: 'reply' });
  });

  it('a cancel cue removes the category ("we will arrange the bloods ourselves")', () => {
    const result = classify(message({ newText: 'Please continue his current medications. We will arrange his pre-clinic bloods ourselves. No action is required from the practice.' }), policy, NOW);
    expect(result.category).toBe('clinical_information');
    expect(result.reasons.some((r) => r.gate === 'cancel' && r.category === 'blood_test_request')).toBe(true);
  });

  it('a request only in quoted history does not count', () => {
    const result = classify(message({ newText: 'Thank you, we will sort this out here. No action is needed from the practice.', quotedText: '> Please could the practice arrange a repeat U&E in 2 weeks.' }), policy, NOW);
    expect(result.category).toBe('clinical_information');
  });
});

describe('gate 5: thresholds', () => {
  it('a hospital letter with no request is clinical_information (file)', () => {
    const result = classify(message({ subject: 'Clinic letter', newText: 'I reviewed her in clinic today. Her palpitations are benign. I have discharged her. No further action is required from the practice.' }), policy, NOW);
    expect(result).toMatchObject({ category: 'clinical_information', action: 'file' });
  });

  it('a request that fits no category goes to a person (unclear)', () => {
    const result = classify(message({ newText: 'Could someone from the practice give me a call please? Dr Nakamura would like to discuss her.' }), policy, NOW);
    expect(result).toMatchObject({ category: 'unclear', action: 'review' });
  });

  it('two categories handled differently and too close to call -> unclear', () => {
    const result = classify(
      message({ newText: 'Please could the practice arrange a repeat U&E in 2 weeks. We would also like to transfer prescribing to you under the shared care guideline.' }),
      policy,
      NOW,
    );
    expect(result.category).toBe('unclear');
    expect(result.reasons.some((r) => r.rule === 'thresholds.closeCall')).toBe(true);
  });

  it.each([
    ['bloods and a fit note', 'Patient letter', 'Please could you arrange a repeat U&E in 2 weeks and also issue him a fit note for 4 weeks.', 'fit_note_request'],
    ['bloods and an ECG', 'Patient letter', 'Please arrange a repeat U&E and an ECG before his next clinic appointment.', 'investigation_request'],
    ['an appointment and a result to chase', 'Follow-up appointment', 'Please could the practice book a follow-up appointment with us in 6 weeks and chase the result.', 'appointment_request'],
  ])('two requests that would each get their own reply, close in score (%s) -> unclear: a reply about one would leave the other to nobody', (_name, subject, newText, other) => {
    const result = classify(message({ subject, newText }), policy, NOW);
    expect(result).toMatchObject({ category: 'unclear', action: 'review' });
    const reason = result.reasons.find((r) => r.rule === 'thresholds.closeCall');
    expect(reason?.detail).toContain(other);
    expect(reason?.detail).toContain('each with its own reply');
  });

  it('is deterministic: the same message gives the same classification', () => {
    const m = message({ newText: 'Please could the practice arrange a repeat U&E in 2 weeks.' });
    expect(classify(m, policy, NOW)).toEqual(classify(m, policy, NOW));
  });
});
