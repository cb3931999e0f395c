import type { CategoryId, PolicyAction } from './schema.js';

/** The taxonomy's default (LMC-approved) action per category: ../shared/domain/taxonomy.md. */
export const TAXONOMY_DEFAULT_ACTION: Readonly<Record<CategoryId, PolicyAction>> = {
  blood_test_request: 'reply',
  investigation_request: 'reply',
  prescribing_request: 'reply',
  re_referral_request: 'reply',
  onward_referral_request: 'reply',
  fit_note_request: 'reply',
  results_followup_request: 'reply',
  appointment_request: 'reply',
  shared_care_request: 'review',
  urgent_clinical: 'review',
  clinical_information: 'file',
  auto_generated: 'ignore',
  non_hospital: 'file',
  unclear: 'review',
};
