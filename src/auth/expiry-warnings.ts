/**
 * Credentials that will stop working soon, found days ahead so someone can act before replies
 * stop. Pure: dates in, sentences out (each names the setting or command that fixes it).
 */
export interface CredentialDates {
  /** AZURE_CLIENT_SECRET_EXPIRES, YYYY-MM-DD, when a client secret is used. */
  clientSecretExpires?: string;
  /** From OAUTH_TOKEN_FILE when the delegated sign-in is used. */
  refreshTokenReceivedAt?: string;
}

export interface CredentialWarning {
  level: 'warning' | 'expired';
  message: string;
  daysLeft: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** Warn this many days ahead: two working weeks to get a new secret through NHSmail. */
export const WARN_DAYS = 14;
/** Microsoft revokes a refresh token unused for 90 days. */
export const REFRESH_TOKEN_INACTIVE_DAYS = 90;

export function credentialWarnings(dates: CredentialDates, now: Date): CredentialWarning[] {
  const warnings: CredentialWarning[] = [];
  if (dates.clientSecretExpires) {
    const expires = Date.parse(`${dates.clientSecretExpires}T00:00:00Z`);
    const daysLeft = Math.floor((expires - now.getTime()) / DAY_MS);
    if (daysLeft < 0) {
      warnings.push({ level: 'expired', daysLeft, message: `the client secret expired on ${dates.clientSecretExpires}: put a new one in AZURE_CLIENT_SECRET and its expiry date in AZURE_CLIENT_SECRET_EXPIRES` });
    } else if (daysLeft <= WARN_DAYS) {
      warnings.push({ level: 'warning', daysLeft, message: `the client secret expires on ${dates.clientSecretExpires} (in ${daysLeft} day(s)): ask your NHSmail Local Administrator for a new one now, then update AZURE_CLIENT_SECRET and AZURE_CLIENT_SECRET_EXPIRES` });
    }
  }
  if (dates.refreshTokenReceivedAt) {
    const received = Date.parse(dates.refreshTokenReceivedAt);
    const daysLeft = Math.floor((received + REFRESH_TOKEN_INACTIVE_DAYS * DAY_MS - now.getTime()) / DAY_MS);
    if (daysLeft < 0) {
      warnings.push({ level: 'expired', daysLeft, message: `the saved sign-in (OAUTH_TOKEN_FILE) was last renewed on ${dates.refreshTokenReceivedAt.slice(0, 10)} and has lapsed: run \`pcn-autoreply auth login\` again` });
    } else if (daysLeft <= WARN_DAYS) {
      warnings.push({ level: 'warning', daysLeft, message: `the saved sign-in (OAUTH_TOKEN_FILE) lapses in ${daysLeft} day(s) unless the worker runs: start the worker, or run \`pcn-autoreply auth login\` again` });
    }
  }
  return warnings;
}
