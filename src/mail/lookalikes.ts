/**
 * Text as the rules should read it: characters that hide a word from them removed or replaced
 * (found by an adversarial review: "ur\u00ADgently", "ur\u200Bgently", "ＵＲＧＥＮＴ", "urgеntly" with a
 * Cyrillic е were all answered with the template).
 * - Invisible characters are removed: the soft hyphen (which Word leaves in copied text), zero-width
 *   spaces and joiners, the word joiner, a byte-order mark inside the text.
 * - Full-width ASCII (ＵＲＧＥＮＴ) becomes ASCII, the ideographic space a space.
 * - A Cyrillic or Greek letter that looks like a Latin one becomes that Latin letter, but only inside
 *   a word that also has Latin letters: a name written in Cyrillic is left as it is.
 * Pure, and a no-op (the same string back) for text with none of these, which is nearly all mail.
 */
const SUSPECT = /[\u00ad\u180e\u200b-\u200d\u2060-\u2064\ufeff\u3000\uff01-\uff5e\u0370-\u03ff\u0400-\u04ff\u0500-\u052f]/;
const INVISIBLE = /[\u00ad\u180e\u200b-\u200d\u2060-\u2064\ufeff]/g;
const FULL_WIDTH = /[\u3000\uff01-\uff5e]/g;
const MIXED_WORD = /[\p{L}\p{M}]*[\u0370-\u052f][\p{L}\p{M}]*/gu;
const LATIN_LETTER = /[A-Za-z]/;

/** Cyrillic and Greek letters drawn like Latin ones (the confusables that matter in English text). */
const LOOKALIKE: Record<string, string> = {
  а: 'a', е: 'e', о: 'o', р: 'p', с: 'c', у: 'y', х: 'x', і: 'i', ј: 'j', ѕ: 's', ԁ: 'd', һ: 'h', ԛ: 'q', ԝ: 'w', ү: 'y', ӏ: 'l',
  А: 'A', В: 'B', Е: 'E', К: 'K', М: 'M', Н: 'H', О: 'O', Р: 'P', С: 'C', Т: 'T', Х: 'X', У: 'Y', І: 'I', Ј: 'J', Ѕ: 'S', Ү: 'Y',
  ο: 'o', α: 'a', ν: 'v', ρ: 'p', ι: 'i', κ: 'k', τ: 't', υ: 'u', χ: 'x',
  Α: 'A', Β: 'B', Ε: 'E', Ζ: 'Z', Η: 'H', Ι: 'I', Κ: 'K', Μ: 'M', Ν: 'N', Ο: 'O', Ρ: 'P', Τ: 'T', Υ: 'Y', Χ: 'X',
};

export function withoutLookalikes(text: string): string {
  if (!SUSPECT.test(text)) return text;
  return text
    .replace(INVISIBLE, '')
    .replace(FULL_WIDTH, (ch) => (ch === '\u3000' ? ' ' : String.fromCharCode(ch.charCodeAt(0) - 0xfee0)))
    .replace(MIXED_WORD, (word) => (LATIN_LETTER.test(word) ? word.replace(/[\u0370-\u052f]/g, (ch) => LOOKALIKE[ch] ?? ch) : word));
}
