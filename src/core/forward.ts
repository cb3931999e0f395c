/**
 * Whether a message forwards another: its subject says so ("FW:", "Fwd:", behind any "RE:" or
 * "[EXTERNAL]"), or its history starts with a forwarded-message marker. The forwarded message is what
 * the forward is about ("please action the below"), unlike the quoted history of a reply, so its
 * urgency counts (src/core/classify.ts).
 */
const FORWARD_SUBJECT = /^\s*(?:\[[^\]]{0,40}\]\s*|(?:re|aw)\s*:\s*)*fwd?\s*:/i;
const FORWARD_MARKER = /^(?:-{2,}\s*forwarded (?:message|by)|begin forwarded message|forwarded message\s*:?\s*$)/i;

export function isForward(message: { subject: string; quotedText: string }): boolean {
  if (FORWARD_SUBJECT.test(message.subject)) return true;
  const firstLine = /^\s*(.*)/.exec(message.quotedText.slice(0, 200))![1]!;
  return FORWARD_MARKER.test(firstLine);
}
