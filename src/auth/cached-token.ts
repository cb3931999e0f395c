/** A token and the moment it stops working. */
export interface IssuedToken {
  accessToken: string;
  expiresOn: Date;
}

/** Asks for an access token; `forceRefresh` after the server refused the cached one. */
export type AccessTokenGetter = (options?: { forceRefresh?: boolean }) => Promise<string>;

/** Renew this long before expiry, so a token never runs out in the middle of a pass... */
const RENEW_MARGIN_MS = 5 * 60 * 1000;

/**
 * Keeps one token in memory and asks `issue` for a new one when it is within the renewal margin
 * of its expiry (or half its lifetime for short-lived tokens), or when forced. Concurrent callers
 * share one request.
 */
export function cachedTokenGetter(issue: (forceRefresh: boolean) => Promise<IssuedToken>, now: () => number = Date.now): AccessTokenGetter {
  let current: { token: IssuedToken; renewAt: number } | null = null;
  let pending: Promise<string> | null = null;
  return async (options = {}) => {
    if (!options.forceRefresh && current && now() < current.renewAt) return current.token.accessToken;
    if (pending && !options.forceRefresh) return pending;
    const request = (async () => {
      const issuedAt = now();
      const token = await issue(Boolean(options.forceRefresh));
      const lifetime = token.expiresOn.getTime() - issuedAt;
      const margin = Math.min(RENEW_MARGIN_MS, Math.max(0, lifetime / 2));
      current = { token, renewAt: token.expiresOn.getTime() - margin };
      return token.accessToken;
    })();
    pending = request;
    try {
      return await request;
    } finally {
      if (pending === request) pending = null;
    }
  };
}
