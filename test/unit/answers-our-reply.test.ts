import { describe, expect, it } from 'vitest';
import { answersOurReply } from '../../src/core/answers-our-reply.js';
import { replyMessageId } from '../../src/core/reply-message-id.js';

const ours = replyMessageId('PCN-000003', '0123456789ab', 'nhs.net');
const none = { inReplyTo: null, references: [] as string[], quotedText: '', footerText: '' };

describe('answersOurReply: a message that answers one of our automatic replies', () => {
  it('names our reply when In-Reply-To alone points at it (no References)', () => {
    expect(answersOurReply({ ...none, inReplyTo: ours })).toBe(`${ours} (our reply to PCN-000003)`);
  });

  it('finds our reply anywhere in References', () => {
    expect(answersOurReply({ ...none, inReplyTo: '<other@northmere.nhs.uk>', references: ['<first@northmere.nhs.uk>', ours] })).toMatch(/PCN-000003/);
  });

  it('finds our case reference in the quoted or forwarded text', () => {
    expect(answersOurReply({ ...none, quotedText: 'From: River & Marsh PCN Alliance\n> Our reference: PCN-000003\n' })).toBe('PCN-000003 in the quoted text');
  });

  it('finds our reply among several ids of In-Reply-To, our reference wrapped after its hyphen, and our reply pasted below the message', () => {
    expect(answersOurReply({ ...none, inReplyTo: '<else@example.nhs.uk>', headers: { 'in-reply-to': [`<else@example.nhs.uk> ${ours}`] } })).toMatch(/PCN-000003/);
    expect(answersOurReply({ ...none, quotedText: '> Our reference: PCN-\n> 000003' })).toBe('PCN-000003 in the quoted text');
    expect(answersOurReply({ ...none, footerText: '=== Previous message ===\nOur reference: PCN-000003' })).toBe('PCN-000003 below the message');
  });

  it('is null for a thread of the hospital\'s own messages and for new text that merely looks alike', () => {
    expect(answersOurReply({ ...none, inReplyTo: '<CAB123@northmere.nhs.uk>', references: ['<CAB122@northmere.nhs.uk>'], quotedText: 'Please arrange a repeat U&E.' })).toBeNull();
    expect(answersOurReply({ ...none, inReplyTo: '<pcn-autoreply-like@northmere.nhs.uk>', quotedText: 'PCN-12 and PCN-DES funding' })).toBeNull();
  });
});
