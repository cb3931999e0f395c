// No imports: the reporting commands check a --category against these without loading the policy's schema (zod).

/** Category ids of ../shared/domain/taxonomy.md: stable strings used in the policy, the log and reports. */
export const REQUEST_CATEGORIES = [
  'blood_test_request',
  'investigation_request',
  'prescribing_request',
  're_referral_request',
  'onward_referral_request',
  'fit_note_request',
  'results_followup_request',
  'appointment_request',
  'shared_care_request',
] as const;

export const OTHER_CATEGORIES = [
  'urgent_clinical',
  'clinical_information',
  'auto_generated',
  'non_hospital',
  'unclear',
] as const;

export const CATEGORY_IDS = [...REQUEST_CATEGORIES, ...OTHER_CATEGORIES] as const;
export type CategoryId = (typeof CATEGORY_IDS)[number];
export type RequestCategoryId = (typeof REQUEST_CATEGORIES)[number];
