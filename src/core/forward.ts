/**
 * Whether a message forwards another: its subject says so ("FW:", "Fwd:", behind any "RE:" or
 * "[EXTERNAL]"), its history starts with a forwarded-message marker, or its new text points at the
 * history below. The forwarded message is what
 * the forward is about ("please action the below"), unlike the quoted history of a reply, so its
 * urgency counts (src/core/classify.ts).
 */
const FORWARD_SUBJECT = /^\s*(?:\[[^\]]{0,40}\]\s*|(?:re|aw)\s*:\s*)*fwd?\s*:/i;
const FORWARD_MARKER = /^(?:-{2,}\s*forwarded (?:message|by)|begin forwarded message|forwarded message\s*:?\s*$)/i;

/**
 * A reply whose new text points at the history below ("please see Dr Rahman's note below", "see the
 * trail below"): what is below is what the message is about, as in a forward (found by an
 * adversarial review: a critical result in the quoted note of such a reply got the template).
 */
const POINTS_BELOW =
  /\b(?:see|read|note|action|review|look at|find|follow|check)\b[^.\n]{0,40}\bbelow\b|\b(?:e-?mail|message|note|letter|result|trail|thread|request|correspondence|comments?|details|information|discussion|advice|plan)s? (?:are |is )?below\b|\bas below\b/i;

export function isForward(message: { subject: string; quotedText: string; newText?: string }): boolean {
  if (FORWARD_SUBJECT.test(message.subject)) return true;
  if (message.newText && message.quotedText.length > 0 && POINTS_BELOW.test(message.newText)) return true;
  const firstLine = /^\s*(.*)/.exec(message.quotedText.slice(0, 200))![1]!;
  return FORWARD_MARKER.test(firstLine);
}
