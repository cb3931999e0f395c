/**
 * Charset helpers shared by the header and body parsers.
 *
 * Node 20's TextDecoder('windows-1252') decodes 0x80-0x9F as C1 controls (Latin-1), not as the
 * WHATWG Encoding Standard says (’ “ ” – € ...). Outlook's windows-1252 mail uses exactly those
 * bytes, so the table is written out here.
 */

const WINDOWS_1252_HIGH: Record<number, string> = {
  0x80: '\u20ac', 0x82: '\u201a', 0x83: '\u0192', 0x84: '\u201e', 0x85: '\u2026', 0x86: '\u2020',
  0x87: '\u2021', 0x88: '\u02c6', 0x89: '\u2030', 0x8a: '\u0160', 0x8b: '\u2039', 0x8c: '\u0152',
  0x8e: '\u017d', 0x91: '\u2018', 0x92: '\u2019', 0x93: '\u201c', 0x94: '\u201d', 0x95: '\u2022',
  0x96: '\u2013', 0x97: '\u2014', 0x98: '\u02dc', 0x99: '\u2122', 0x9a: '\u0161', 0x9b: '\u203a',
  0x9c: '\u0153', 0x9e: '\u017e', 0x9f: '\u0178',
};

/** windows-1252 (a superset of ISO-8859-1's printable range); undefined bytes stay as U+FFFD. */
export function decodeWindows1252(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) {
    if (byte < 0x80 || byte > 0x9f) text += String.fromCharCode(byte);
    else text += WINDOWS_1252_HIGH[byte] ?? '\ufffd';
  }
  return text;
}

/** Labels the Encoding Standard maps to windows-1252 (ASCII and Latin-1 included, as browsers do). */
const WINDOWS_1252_LABELS = /^(us-?ascii|ascii|ansi_x3\.4-1968|iso-?8859-1|iso_8859-1|latin-?1|l1|windows-1252|cp1252|x-cp1252|cp819|ibm819)$/i;

export function isWindows1252Label(label: string): boolean {
  return WINDOWS_1252_LABELS.test(label.trim());
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** The text when the bytes are valid UTF-8, else null. */
export function decodeUtf8Strict(bytes: Uint8Array): string | null {
  try {
    return utf8Strict.decode(bytes);
  } catch {
    return null;
  }
}

export function hasHighBytes(bytes: Uint8Array): boolean {
  for (const byte of bytes) {
    if (byte >= 0x80) return true;
  }
  return false;
}
