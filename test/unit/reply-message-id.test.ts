import { describe, expect, it } from 'vitest';
import { replyMessageId } from '../../src/core/reply-message-id.js';
import { maskNhsNumbers, MAY_HOLD_NHS_NUMBER } from '../../src/core/nhs-number.js';

describe('a reply\'s Message-ID', () => {
  it('holds no digits after the case reference, so nothing in it reads as an NHS number', () => {
    // The old form put the hex digits as they were: "PCN-000005.1233..." holds 0000051233, a valid
    // NHS number, and `why` showed the Message-ID as "PCN-000 ***.****ea9c5f86" (about 1 draw in 70).
    const old = '<pcn-autoreply.PCN-000005.1233ea9c5f86@nhs.net>';
    expect(maskNhsNumbers(old)).not.toBe(old);
    const id = replyMessageId('PCN-000005', '1233ea9c5f86', 'nhs.net');
    expect(id).toBe('<pcn-autoreply.PCN-000005.hijjeapclfom@nhs.net>');
    expect(MAY_HOLD_NHS_NUMBER.test(id)).toBe(false);
    expect(maskNhsNumbers(id)).toBe(id);
  });

  it('keeps every random draw apart: each hex digit has its own letter', () => {
    const hex = '0123456789abcdef';
    const letters = replyMessageId('PCN-000001', hex, 'x').slice('<pcn-autoreply.PCN-000001.'.length, -'@x>'.length);
    expect(new Set(letters).size).toBe(16);
    expect(letters).toMatch(/^[a-p]{16}$/);
  });
});
