/**
 * Address patterns of the policy (hospital NHSmail addresses, neverHospital senders).
 *
 * `*` is any run of the characters an NHSmail local part uses ([a-z0-9._-]) and `?` exactly one;
 * every other character, the dot included, is literal, and the whole address is anchored, so
 * `northmere.*@nhs.net` matches `northmere.renal@nhs.net` but never `northmereroad.surgery@nhs.net`.
 * The domain part is always literal: wildcards there would let lookalike domains in.
 * `@domain` alone means any address at exactly that domain.
 */

const PATTERN_SHAPE = /^([a-z0-9.*?_+'-]*)@([a-z0-9-]+(\.[a-z0-9-]+)+)$/;

/** Why `pattern` is not a usable address pattern, or null when it is. */
export function addressPatternProblem(pattern: string): string | null {
  const lower = pattern.trim().toLowerCase();
  if (!lower.includes('@')) return 'an address pattern must contain @ (for example gp.*@nhs.net or @rivermarsh-icb.nhs.uk)';
  if (!PATTERN_SHAPE.test(lower)) {
    return 'only letters, digits, . _ - + \' and the wildcards * and ? may appear before the @, and the part after the @ must be a plain domain without wildcards';
  }
  return null;
}

/** Compile a pattern already checked by addressPatternProblem into an anchored, case-insensitive RegExp. */
export function compileAddressPattern(pattern: string): RegExp {
  const lower = pattern.trim().toLowerCase();
  const at = lower.lastIndexOf('@');
  const local = lower.slice(0, at);
  const domain = lower.slice(at + 1);
  const localSource =
    local === ''
      ? "[a-z0-9._+'-]+"
      : [...local]
          .map((ch) => (ch === '*' ? '[a-z0-9._-]*' : ch === '?' ? '[a-z0-9._-]' : escapeRegExp(ch)))
          .join('');
  return new RegExp(`^${localSource}@${escapeRegExp(domain)}$`, 'i');
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}
