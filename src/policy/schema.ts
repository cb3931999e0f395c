import { z } from 'zod';
import { CATEGORY_IDS } from './category-ids.js';

// Re-exported: the policy's schema is where most code looks for them.
export { CATEGORY_IDS, OTHER_CATEGORIES, REQUEST_CATEGORIES, type CategoryId, type RequestCategoryId } from './category-ids.js';

export const POLICY_ACTIONS = ['reply', 'review', 'file', 'ignore'] as const;
export type PolicyAction = (typeof POLICY_ACTIONS)[number];

/** How far the bot may act alone for a category that replies. */
export const AUTONOMY_LEVELS = ['auto', 'approve', 'shadow'] as const;
export type Autonomy = (typeof AUTONOMY_LEVELS)[number];

const text = z.string().trim().min(1, 'must not be empty');

/** A rule that recognises words: either a plain phrase (case-insensitive, word-bounded) or a regular expression. */
export const ruleSchema = z
  .strictObject({
    id: text.describe('Short name shown in every decision trace, e.g. "arrange-bloods".'),
    phrase: text.optional().describe('Words to look for, case-insensitive, matched on word boundaries.'),
    pattern: text.optional().describe('A JavaScript regular expression (case-insensitive), for when a phrase is not enough.'),
    weight: z.number().min(0).max(10).default(1).describe('How strongly a match points to the category.'),
    in: z
      .array(z.enum(['subject', 'body', 'attachment']))
      .min(1)
      .default(['subject', 'body', 'attachment'])
      .describe('Where to look: subject, the new text of the body, small PDF attachments.'),
  })
  .describe('Exactly one of phrase or pattern.');
export type Rule = z.infer<typeof ruleSchema>;

export const hospitalSchema = z.strictObject({
  id: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]*$/, 'use lower-case letters, digits, - and _')
    .describe('Stable id used in the log and reports.'),
  name: text.describe('The trust name as reports show it.'),
  domains: z
    .array(z.string().regex(/^[a-z0-9.-]+\.[a-z]{2,}$/i, 'must be a bare domain such as northmere.nhs.uk'))
    .default([])
    .describe('E-mail domains of the trust: exact match only, no subdomains or lookalikes.'),
  nhsmail: z
    .array(z.string().regex(/^[a-z0-9.*?_-]+@nhs\.net$/i, 'must look like northmere.*@nhs.net'))
    .default([])
    .describe('NHSmail address patterns: * is any run of characters, ? one character, . a literal dot.'),
});
export type Hospital = z.infer<typeof hospitalSchema>;

export const categorySchema = z.strictObject({
  action: z.enum(POLICY_ACTIONS).describe('reply, review (left for a person), file, or ignore.'),
  autonomy: z
    .enum(AUTONOMY_LEVELS)
    .default('shadow')
    .describe('For reply categories: auto sends, approve holds the rendered reply for a person, shadow logs only.'),
  template: text.optional().describe('Reply template name: templates/<name>.txt.hbs and templates/<name>.html.hbs.'),
  clauses: z.array(text).default([]).describe('Ids of contract.clauses the reply cites.'),
  description: text.optional(),
  rules: z.array(ruleSchema).default([]).describe('Rules that recognise this category.'),
  cancel: z
    .array(ruleSchema)
    .default([])
    .describe('Cues that cancel this category, e.g. "we will arrange the bloods here".'),
});
export type CategoryPolicy = z.infer<typeof categorySchema>;

const isoDate = z.iso.date('must be a date written YYYY-MM-DD');

export const policySchema = z.strictObject({
  $schema: z.string().optional(),
  policy: z.strictObject({
    version: text.describe('Policy version, e.g. "2026.2"; goes into every logged case.'),
    approvedBy: text.describe('Who approved this policy (the LMC officer or committee).'),
    approvedOn: isoDate.describe('When it was approved.'),
  }),
  identity: z.strictObject({
    alliance: text.describe('Alliance or PCN name used in replies.'),
    pcns: z.array(text).default([]),
    mailbox: z.email('must be an e-mail address').describe('The shared inbox address.'),
    lmc: text.describe('Local Medical Committee name.'),
    urgentLine: text.describe('Telephone line for clinically urgent matters, quoted in every reply.'),
    signature: text.optional().describe('Sign-off under each reply.'),
  }),
  contract: z.strictObject({
    name: text.default('NHS Standard Contract'),
    year: text.describe('Contract year the clause numbers refer to, e.g. "2025/26".'),
    clauses: z
      .record(z.string(), text)
      .describe('Clause id -> what it says, in a sentence. Categories cite these ids.'),
  }),
  hospitals: z.array(hospitalSchema).min(1, 'list at least one hospital'),
  /** Addresses or patterns that are never hospitals even if they would match (other practices...). */
  neverHospital: z.array(text).default([]).describe('Address patterns that are never treated as hospitals.'),
  categories: z.partialRecord(z.enum(CATEGORY_IDS), categorySchema),
  urgency: z.strictObject({
    rules: z.array(ruleSchema).min(1, 'list at least one urgency rule'),
    cancel: z.array(ruleSchema).default([]).describe('Cues that a match is not urgent, e.g. "non-urgent".'),
    threshold: z.number().min(0).default(1).describe('Urgency score at or above which a message is urgent_clinical.'),
    holdMarkedImportant: z
      .boolean()
      .default(true)
      .describe('A request the sender marked high importance (Importance: High, X-Priority 1 or 2) waits for a person, its reply ready to approve.'),
  }),
  sensitive: z
    .strictObject({
      rules: z
        .array(ruleSchema)
        .default([])
        .describe('Subjects a person must handle: a request in a message that mentions one (a death, a complaint, a coroner) is never answered automatically.'),
    })
    .prefault({}),
  thresholds: z
    .strictObject({
      minConfidence: z.number().min(0).max(1).default(0.6).describe('Below this the message is unclear.'),
      minScore: z.number().min(0).default(2).describe('Smallest rule score that can name a category.'),
      closeCall: z
        .number()
        .min(0)
        .max(1)
        .default(0.8)
        .describe('If the runner-up scores at least this share of the top score and acts differently (or replies with another template), unclear.'),
    })
    .prefault({}),
  limits: z
    .strictObject({
      repliesPerPass: z.number().int().min(0).default(50),
      repliesPerSenderPerDay: z.number().int().min(1).default(20),
      threadReplyWindowDays: z.number().min(0).default(30),
      maxAgeDays: z.number().min(0).default(14),
      notBefore: isoDate.optional().describe('Never reply to mail received before this date (the go-live date).'),
      bounceCooldownDays: z.number().min(0).default(30),
      maxMessageBytes: z.number().int().min(1024).default(10 * 1024 * 1024),
    })
    .prefault({}),
  folders: z
    .strictObject({
      enabled: z.boolean().default(true),
      replied: text.default('PCN/Replied'),
      review: text.default('PCN/Review'),
      filed: text.default('PCN/Filed'),
      ignored: text.default('PCN/Ignored'),
    })
    .prefault({}),
  logging: z
    .strictObject({
      excerptChars: z.number().int().min(0).max(2000).default(280),
      storeBodies: z.boolean().default(false),
    })
    .prefault({}),
  retention: z.strictObject({ months: z.number().int().min(1).default(24) }).prefault({}),
  health: z
    .strictObject({
      maxMinutesWithoutPass: z.number().min(1).default(30),
      workingHours: z.string().regex(/^\d{2}:\d{2}-\d{2}:\d{2}$/).default('08:00-18:30'),
      maxConsecutiveFailures: z.number().int().min(1).default(3),
      alertTo: z.email().optional(),
    })
    .prefault({}),
  killSwitch: z
    .strictObject({
      enabled: z.boolean().default(false).describe('true turns every reply into a review.'),
      file: text.default('data/STOP').describe('While this file exists no reply is sent.'),
    })
    .prefault({}),
});

export type PolicyInput = z.input<typeof policySchema>;
export type PolicyData = z.infer<typeof policySchema>;
