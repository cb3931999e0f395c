import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createParsePool } from '../../src/mail/parse-pool.js';

const fixtures = fileURLToPath(new URL('../fixtures/mail/', import.meta.url));

// Under vitest the pool module is TypeScript, so it parses in-thread (the compiled worker lives in
// dist/). The threaded path is exercised against the build by test/integration and the bench.
describe('createParsePool (in-thread fallback under vitest)', () => {
  it.each([['rfc2047-subject.eml'], ['pdf-attachment.eml'], ['bounce.eml']])('parses %s like parseMessage', async (file) => {
    const pool = createParsePool(2);
    const message = await pool.parse(readFileSync(`${fixtures}${file}`));
    expect(message.messageId).toMatch(/^<.+>$/);
    expect(message.date).toBeInstanceOf(Date);
    await pool.close();
  });

  it('parses many messages concurrently', async () => {
    const pool = createParsePool(2);
    const raw = readFileSync(`${fixtures}qp-utf8.eml`);
    const messages = await Promise.all(Array.from({ length: 20 }, () => pool.parse(Buffer.from(raw))));
    expect(new Set(messages.map((message) => message.subject))).toEqual(new Set(['Request for bloods']));
    await pool.close();
  });

  it('refuses work after close', async () => {
    const pool = createParsePool(1);
    await pool.close();
    await expect(pool.parse(Buffer.from('x'))).rejects.toThrow(/closed/);
  });
});
