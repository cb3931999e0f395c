import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { prefilteredExec } from '../../src/core/classify.js';
import { requiredLiteralSets } from '../../src/policy/literal-prefixes.js';
import { parseMessage } from '../../src/mail/parse-message.js';
import { loadPolicyFile } from '../../src/policy/load-policy.js';
import type { CompiledRule } from '../../src/policy/policy.js';

// The prefilter skips a rule's regular expression when a word every match needs is missing, and
// starts the search where a match can first begin. It must never change what the rule finds.
const root = fileURLToPath(new URL('../../', import.meta.url));
const { policy } = loadPolicyFile(join(root, 'config/policy.example.yaml'));

const rules: CompiledRule[] = [
  ...policy!.urgency.rules,
  ...policy!.urgency.cancel,
  ...Object.values(policy!.categoryRules).flatMap((set) => [...set.rules, ...set.cancel]),
  ...policy!.sensitive,
];

function emlFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? emlFiles(join(dir, entry.name)) : entry.name.endsWith('.eml') ? [join(dir, entry.name)] : [],
  );
}

async function corpusTexts(): Promise<string[]> {
  const files = [join(root, '../shared/corpus/dev'), join(root, 'test/fixtures/holdout'), join(root, 'test/fixtures/rule-cases')].flatMap(emlFiles);
  const texts: string[] = [];
  for (const file of files) {
    const message = await parseMessage(readFileSync(file));
    texts.push(message.subject, message.newText);
  }
  // Rules the corpora barely meet: results past the critical limits, emergencies found now, each
  // also late in a long letter (where the search window matters), and near misses.
  const extra = [
    'His INR today was 6.5. Please could you arrange a repeat INR.',
    'Her potassium was 2.4 on discharge; sodium is 156; haemoglobin was 62 g/L; neutrophils were 0.3; platelets 12.',
    'His glucose was 32 mmol/L with ketones of 4. Capillary glucose 2.1. Adjusted calcium 3.7. Lithium level 2.1. AKI stage 3.',
    'The ECG shows new ST depression. He has a DVT confirmed on ultrasound today. Acute PE.',
    'He has new weakness of both legs; saddle anaesthesia. She is 34 weeks pregnant with a blood pressure of 168/112. BP 210/125.',
    'He has been hearing voices telling him to harm others. He denies thoughts of harming others.',
    'As discussed on the phone this morning, could you please prescribe it. Further to our telephone conversation, the GP kindly agreed to.',
    'Please arrange for his bloods to be taken tomorrow. HbA1c 62 mmol/mol, Hb 121, lithium 400 mg, calcium carbonate 1.5 g.',
    'K 6.8, Na 119, Hb 6.1 g/dL, red range on clozapine, digoxin level is 3.2, a bilirubin of 350, saturations were 84%.',
    'He has had a temperature with rigors and is on chemotherapy. If she has a fever on chemotherapy she should call.',
    'Chest pain at rest; the worst headache of her life; new facial droop; has a hot swollen knee; has been vomiting blood; haematemesis this morning.',
    'Discharged on methotrexate daily instead of weekly, a medication error. Not brought to his appointment; WNB. Her partner has hit her. Self-neglect, FGM.',
    'Please repeat her U&E in 48 hours. He has run out of his insulin; adrenaline auto-injectors. We note your automated response to PCN-000123.',
    'His CK is 25000, ALT is 1200, eGFR has fallen to 9. He has lost 10 kg and has iron deficiency anaemia; no weight loss; unexplained weight loss.',
    'She is in the last days of life; anticipatory medicines and a syringe driver; St Mary\'s Hospice; she is dying to get home. NEWS2 score of 7; NEWS 2 score was 1.',
    'She is 8 weeks pregnant. She takes sodium valproate. She is 10 weeks pregnant with heavy vaginal bleeding. She is not pregnant; isotretinoin.',
    'Sudden loss of vision in her right eye with a curtain over her vision; new floaters. A QTc of 560 ms; QTc 440 ms. A non-blanching rash; no non-blanching rash.',
    'Two severe hypos while driving; no severe hypos. On apixaban, she fell and hit her head yesterday. He was found wandering; his wife can no longer cope at home.',
    'The CT shows bilateral pulmonary emboli; the CTPA shows no pulmonary embolism. Unexplained bruising to the ear; the parents could not explain it; no unexplained bruising.',
    'We are worried he is being exploited. New numbness of his face, difficulty finding words, black tarry stools, crushing chest pain on minimal exertion that has got worse.',
    'Creatinine has doubled. He has Addison\'s disease and has been vomiting and missed his hydrocortisone. Please could you stop his spironolactone.',
    'She lacks capacity; a best interests meeting and a DoLS. Her HIV test from clinic was reactive. The biopsy has confirmed a carcinoma; the biopsy shows no malignancy.',
    'He has not taken his clozapine for 5 days; a psychotic relapse; he is manic. Baby Noah (6 weeks) had a temperature of 38.5; baby Jack (6 weeks) has no fever; green bilious vomiting.',
    'Reduced fetal movements; she has hyperemesis and cannot keep any fluids down; a history of hyperemesis. He has not passed urine; his right foot is cold, pale; cold, white fingers.',
    'The wound has opened and is discharging pus; bleeding after his tonsillectomy; cellulitis spreading rapidly; spinal metastases and new severe back pain.',
    'Mycobacterium tuberculosis; had pulmonary TB in 2015; a contact of meningococcal disease; the meningococcal vaccine; measles as a child. A long lie; a sickle cell crisis; is febrile.',
    'Pain since this morning, for the last 6 hours; fast for 12 hours. He has threatened to kill himself; stockpiling. Trimethoprim while on methotrexate; given despite his penicillin allergy.',
    'The injury is inconsistent with the history given; severe hyponatraemia; she needs a blood transfusion; not opened his bowels for 7 days and is vomiting; a black toe; spreading redness.',
    'Please increase his bisoprolol to 5 mg; grateful if you could titrate his ramipril; switch her from warfarin to apixaban 5 mg; please add in dapagliflozin; please increase the frequency of his bloods. He will need a further supply of his apixaban; he requires no further prescriptions.',
    'Her lips and tongue swelled up; angioedema; no swelling of the lips. He took 20 paracetamol tablets; an overdose; the risk of overdose. She cut her arms; she has not cut herself; cannot keep herself safe.',
    'Heavy bleeding with clots ten days after delivery; since the birth she has been hearing voices. Exposed to chickenpox; no known contact with shingles. A nosebleed that will not stop; INR 4.8 with bleeding; INR 2.5 with no bleeding.',
    'Jaw claudication; no jaw claudication; suspected GCA. Sudden severe pain in his left testicle. Floppy and not feeding; not floppy. Sudden breathlessness; cannot complete sentences; peak flow is 40% of her best; BMI is now 13; BMI of 24.5.',
    'On methotrexate, she has had a sore throat. Her son has taken her bank card. Headaches near the gas boiler. The foot is hot, red and swollen; an acute Charcot foot.',
    'Under the shared care agreement please arrange his FBC; monitoring will now be undertaken by the practice under the local enhanced service; his annual diabetic review; care of his wound is shared. His B12 injections every 12 weeks; a vitamin B12 loading dose; a B12 level.',
    "I would suggest a repeat ECG; I'd also recommend a DEXA scan; I would suggest we see him in clinic. It may be worth referring her to dietetics; she would benefit from a referral to physiotherapy; he should also have an echocardiogram.",
    'He will need his thyroid function monitored; he will need his INR checked at the anticoagulation clinic. A ferritin level would be helpful; no further blood tests would be helpful. It would be advisable for her to have a review; please also consider checking her vitamin D; we will consider referring him.',
    'Please arrange a home visit; we will arrange a home visit; could the GP see her at home; our team will see him at home. Please arrange his immunisations; he had his flu vaccine. Please add him to your palliative care register; he is on the register.',
    'A DNACPR decision; a ReSPECT form; a ceiling of care. Please remind him to inform the DVLA; he must not drive. His wife, who is also registered with you; his wife is a nurse. Please consider anticoagulation; we will consider starting it. A bruise that was not fully explained; no explanation was given for the burns; the bruise was explained.',
    'GP actions: 1. Repeat U&E. 2. Adjust diuretics accordingly; wean prednisolone by 5 mg; restart his statin; up-titrate bisoprolol; please update his repeat prescription. Her prednisolone should be reduced; the dose can be increased in clinic; we adjusted his diuretics; the team will adjust his diuretics.',
    'A scaphoid fracture that was missed; complete heart block with a heart rate of 32; pulse was 68; severely dehydrated, has had no fluids for two days; lost weight and is very thirsty; not thirsty.',
  ];
  const letter = 'Thank you for seeing this patient in clinic today, please review the attached. '.repeat(40);
  // The letters probed for wrong replies (letters.test.ts): each names what a rule was written for.
  const probed = ['held', 'answered'].flatMap((name) =>
    (JSON.parse(readFileSync(join(root, `test/fixtures/letters/${name}.json`), 'utf8')) as Array<{ subject: string; text: string }>).flatMap((l) => [l.subject, l.text]),
  );
  return [...texts, ...extra, ...probed, ...extra.map((text) => `${letter}${text}`)];
}

/**
 * The same words in other cases, and with letters a lower-cased copy would turn into ASCII
 * (KELVIN SIGN to k, LATIN CAPITAL I WITH DOT to i + a combining dot) that /i without /u never
 * matches to an ASCII letter.
 */
function variants(text: string): string[] {
  return [text, text.toUpperCase(), text.replace(/k/g, '\u212a').replace(/i/g, '\u0130'), `\u0130\u0130 ${text}`];
}

describe('classifier prefilter', () => {
  it('looks for the word of a rule that is not in every letter: "please ... today" where "today" is', () => {
    const sets = requiredLiteralSets('\\bplease\\b[^.]{0,40}\\btoday\\b|\\bsee\\b[^.]{0,20}\\btomorrow\\b');
    expect(sets).toContainEqual(['today', 'tomorrow']);
  });


  it('finds exactly what each rule\'s regular expression finds', async () => {
    const texts = (await corpusTexts()).flatMap(variants);
    expect(texts.length).toBeGreaterThan(400);
    let matched = 0;
    for (const rule of rules) {
      for (const text of texts) {
        const expected = rule.regex.exec(text);
        const found = prefilteredExec(rule, text, policy!.literals);
        if (expected) matched += 1;
        expect([rule.id, found?.index, found?.[0]]).toEqual([rule.id, expected?.index, expected?.[0]]);
      }
    }
    // The comparison means something only if many rules fire on these texts.
    expect(matched).toBeGreaterThan(300);
    // Some 200 rules over some 2,000 texts: about 20 s alone, three times that beside the other test files.
  }, 240_000);
});
