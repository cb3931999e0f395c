/**
 * The address fields nearly every hospital writes, read without the general RFC 5322 parser:
 * `team@trust.nhs.uk`, `Megan Ali <team@trust.nhs.uk>`, `"Ali, Megan" <team@trust.nhs.uk>`,
 * `=?UTF-8?B?...?= <team@trust.nhs.uk>`, or a comma-separated list of those without quotes.
 *
 * nodemailer's addressparser was the costliest step of the header parse (issue 7, old inbox: 55 ms
 * of the main thread per 10,000 messages, as many From values as senders). Anything else (comments,
 * groups, backslashes, route syntax, a stray `<` or `@`) returns null and goes to addressparser.
 * test/unit/simple-address-list.test.ts holds the two to the same result over generated fields.
 */
export interface SimpleAddress {
  name: string;
  address: string;
}

/** No white space, no specials (RFC 5322 3.2.3) but the one `@`, no controls. */
const ADDR_SPEC = '[^\\s"(),:;<>@\\[\\]\\\\\\u0000-\\u001f\\u007f]+@[^\\s"(),:;<>@\\[\\]\\\\\\u0000-\\u001f\\u007f]+';
/** A display name of words and dots: no specials that would make it a group, comment or route. */
const PLAIN_NAME = '[^"(),:;<>@\\[\\]\\\\\\u0000-\\u001f\\u007f]*';
/** A quoted display name with no backslash escape (and so no quote) inside. */
const QUOTED_NAME = '"([^"\\\\\\u0000-\\u001f\\u007f]*)"';

const BARE = new RegExp(`^\\s*(${ADDR_SPEC})\\s*$`);
const PLAIN_NAMED = new RegExp(`^(${PLAIN_NAME})<(${ADDR_SPEC})>\\s*$`);
const QUOTED_NAMED = new RegExp(`^\\s*${QUOTED_NAME}\\s*<(${ADDR_SPEC})>\\s*$`);

export function simpleAddressList(value: string): SimpleAddress[] | null {
  if (value.includes('"')) {
    const quoted = QUOTED_NAMED.exec(value);
    return quoted ? [{ name: quoted[1]!.trim(), address: quoted[2]! }] : null;
  }
  const addresses: SimpleAddress[] = [];
  for (const part of value.split(',')) {
    const one = simpleAddress(part);
    if (!one) return null;
    addresses.push(one);
  }
  return addresses;
}

function simpleAddress(part: string): SimpleAddress | null {
  const bare = BARE.exec(part);
  if (bare) return { name: '', address: bare[1]! };
  const named = PLAIN_NAMED.exec(part);
  if (!named) return null;
  const name = named[1]!.trim();
  // Two neighbouring dots and the like are left to the parser, which has its own repairs.
  if (name.includes('..') || name.startsWith('.')) return null;
  return { name, address: named[2]! };
}
