/**
 * The Message-ID of a reply: our case reference, then 12 random hex digits written with the letters
 * a-p (0-9 become g-p). Digits straight after the reference could read as an NHS number
 * ("PCN-000005.1234..." holds 3, 3 and 4 digits), and `why`, the audit and the logs mask those:
 * the LMC saw our own reply's Message-ID, and the outbox file's name, with stars in it.
 */
export function replyMessageId(caseRef: string, randomHex: string, domain: string): string {
  const letters = randomHex.toLowerCase().replace(/[0-9]/g, (digit) => String.fromCharCode(103 + Number(digit)));
  return `<pcn-autoreply.${caseRef}.${letters}@${domain}>`;
}
