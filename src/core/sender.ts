import type { Reason } from './classification.js';
import type { MessageHeaders } from './message.js';
import type { CompiledHospital, Policy } from '../policy/policy.js';
import type { Hospital } from '../policy/schema.js';

export interface HospitalMatch {
  hospital: Hospital | null;
  reasons: Reason[];
}

/**
 * Which listed hospital sent the message. The From address decides (it is what the reply would
 * go back to); Reply-To never makes a sender a hospital. Domains match exactly, with no
 * subdomains, so `northmere.nhs.uk.example.com` and `northmere-nhs.uk` are not Northmere.
 */
export function matchHospital(h: MessageHeaders, policy: Policy): HospitalMatch {
  const address = h.from?.address.trim().toLowerCase() ?? '';
  if (!address) {
    return { hospital: null, reasons: [{ gate: 'sender', rule: 'sender.missing', detail: 'the message has no usable From address', where: 'sender' }] };
  }
  const never = policy.neverHospital.find((pattern) => pattern.test(address));
  if (never) {
    return {
      hospital: null,
      reasons: [{ gate: 'sender', rule: 'neverHospital', detail: 'the sender matches a neverHospital pattern (another practice, the ICB, a pharmacy...)', matched: address, where: 'sender' }],
    };
  }
  const compiled = findHospital(address, policy);
  if (!compiled) {
    return {
      hospital: null,
      reasons: [{ gate: 'sender', rule: 'sender.not-listed', detail: 'the sender is not a listed hospital address or domain', matched: address, where: 'sender' }],
    };
  }
  const reasons: Reason[] = [
    { gate: 'sender', rule: `hospital.${compiled.hospital.id}`, detail: `the sender is ${compiled.hospital.name}`, matched: address, where: 'sender' },
  ];
  for (const replyTo of h.replyTo) {
    if (!isHospitalAddress(replyTo.address, policy)) {
      reasons.push({
        gate: 'sender',
        rule: 'sender.reply-to-outside',
        detail: 'Reply-To points outside the hospital list; any reply goes to the From address only',
        matched: replyTo.address,
        where: 'header',
      });
    }
  }
  return { hospital: compiled.hospital, reasons };
}

/** True when `address` belongs to a listed hospital and is not excluded by neverHospital. */
export function isHospitalAddress(address: string, policy: Policy): boolean {
  const lower = address.trim().toLowerCase();
  if (policy.neverHospital.some((pattern) => pattern.test(lower))) return false;
  return findHospital(lower, policy) !== null;
}

/** The listed hospital an address belongs to, or null (neverHospital patterns win, as in isHospitalAddress). */
export function hospitalOfAddress(address: string, policy: Policy): Hospital | null {
  const lower = address.trim().toLowerCase();
  if (policy.neverHospital.some((pattern) => pattern.test(lower))) return null;
  return findHospital(lower, policy)?.hospital ?? null;
}

/**
 * A plain local part (RFC 5321 dot-atom) without the characters of old routing tricks ("%", "!"):
 * `evil@gmail.com@northmere.nhs.uk`, `"evil@gmail.com"@northmere.nhs.uk` or `evil%gmail.com@...` is
 * no hospital's address, and a reply must never go to one (found by an adversarial review: such
 * addresses were taken verbatim as the reply's recipient).
 */
const PLAIN_LOCAL_PART = /^[a-z0-9#$&'*+/=?^_`{|}~-]+(?:\.[a-z0-9#$&'*+/=?^_`{|}~-]+)*$/i;

function findHospital(address: string, policy: Policy): CompiledHospital | null {
  const at = address.lastIndexOf('@');
  if (at <= 0 || !PLAIN_LOCAL_PART.test(address.slice(0, at))) return null;
  const domain = address.slice(at + 1);
  for (const hospital of policy.hospitals) {
    if (hospital.domains.has(domain)) return hospital;
    for (const pattern of hospital.nhsmail) if (pattern.test(address)) return hospital;
  }
  return null;
}
