import type { MessageHeaders } from './message.js';

/**
 * The header by which the sender marked the message as high importance, quoted (`Importance: High`),
 * or null. Outlook and NHSmail write `Importance: High` with `X-Priority: 1`; older clients
 * `X-MSMail-Priority: High`; RFC 2156 also has `Priority: urgent`. A hospital marking a request this
 * way may be telling the practice it is urgent in words the urgency rules do not know, so the worker
 * leaves the reply for a person (policy `urgency.holdMarkedImportant`).
 */
export function highImportanceMark(h: MessageHeaders): string | null {
  const first = (name: string): string | null => {
    const value = h.headers[name]?.[0];
    return value === undefined ? null : value.trim();
  };
  const importance = first('importance');
  if (importance !== null && /^high\b/i.test(importance)) return `Importance: ${importance}`;
  // X-Priority counts 1 (highest) to 5 (lowest), often with a comment: "1 (Highest)".
  const xPriority = first('x-priority');
  if (xPriority !== null && /^[12](?!\d)/.test(xPriority)) return `X-Priority: ${xPriority}`;
  const msPriority = first('x-msmail-priority');
  if (msPriority !== null && /^high(?:est)?\b/i.test(msPriority)) return `X-MSMail-Priority: ${msPriority}`;
  const priority = first('priority');
  if (priority !== null && /^urgent\b/i.test(priority)) return `Priority: ${priority}`;
  return null;
}
