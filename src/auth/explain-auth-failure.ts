/**
 * Turns a Microsoft identity platform refusal into one plain sentence naming the setting to check.
 * Pure: the AADSTS code (or the network error code) decides the advice; tokens and secrets never
 * appear in the result because only codes and our own words are used.
 */
const ADVICE: Array<{ codes: string[]; advice: string }> = [
  { codes: ['AADSTS7000215'], advice: 'AZURE_CLIENT_SECRET was refused by the tenant: check the secret value in .env (copy the secret VALUE, not its ID)' },
  { codes: ['AADSTS7000222'], advice: 'AZURE_CLIENT_SECRET has expired: ask your NHSmail Local Administrator for a new client secret, put it in .env and update AZURE_CLIENT_SECRET_EXPIRES' },
  { codes: ['AADSTS700016'], advice: 'AZURE_CLIENT_ID is not an application in this tenant: check AZURE_CLIENT_ID and AZURE_TENANT_ID against the app registration' },
  { codes: ['AADSTS90002', 'AADSTS900023', 'AADSTS90013'], advice: 'AZURE_TENANT_ID is not a known tenant: check the tenant id given by your NHSmail Local Administrator' },
  { codes: ['AADSTS700027', 'AADSTS700023', 'AADSTS50012'], advice: 'the certificate was refused: check AZURE_CLIENT_CERT_PATH and AZURE_CLIENT_CERT_THUMBPRINT match the certificate uploaded to the app registration' },
  { codes: ['AADSTS700024'], advice: "the computer's clock is wrong: the tenant refused a sign-in dated outside its valid time; fix the system clock (NTP)" },
  { codes: ['AADSTS65001', 'AADSTS650057'], advice: 'admin consent has not been granted: your NHSmail Local Administrator must grant admin consent for the app registration (AZURE_CLIENT_ID)' },
  { codes: ['AADSTS7000112', 'AADSTS700025'], advice: 'the app registration (AZURE_CLIENT_ID) is disabled in the tenant: ask your NHSmail Local Administrator' },
  {
    codes: ['AADSTS700082', 'AADSTS70008', 'AADSTS50173', 'AADSTS50076', 'AADSTS50078', 'AADSTS700084', 'AADSTS50078'],
    advice: 'the saved sign-in in OAUTH_TOKEN_FILE has expired or was revoked: run `pcn-autoreply auth login` again',
  },
  { codes: ['ETIMEDOUT'], advice: 'the Microsoft sign-in service did not answer in time (IMAP_TIMEOUT_MS): check the network, any proxy, and AZURE_AUTHORITY_HOST' },
  { codes: ['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ECONNRESET', 'ENETWORK'], advice: 'the Microsoft sign-in service could not be reached: check the network, any proxy, and AZURE_AUTHORITY_HOST' },
  { codes: ['ENOTJSON'], advice: 'something other than the Microsoft sign-in service answered (a proxy or a login page?): check the network, any proxy, and AZURE_AUTHORITY_HOST' },
];

export function explainAuthFailure(error: unknown): string {
  const text = errorText(error);
  for (const { codes, advice } of ADVICE) {
    const hit = codes.find((code) => new RegExp(`\\b${code}\\b`).test(text));
    if (hit) return `${advice} (${hit})`;
  }
  const aadsts = /\bAADSTS\d+\b/.exec(text)?.[0];
  const code = aadsts ?? ((error as { errorCode?: string; code?: string })?.errorCode || (error as { code?: string })?.code || 'no code');
  return `the tenant refused to issue a token (${code}): check AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or the certificate settings) in .env`;
}

function errorText(error: unknown): string {
  const e = error as { errorCode?: string; errorMessage?: string; message?: string; code?: string; subError?: string };
  return [e?.errorCode, e?.subError, e?.code, e?.errorMessage, e?.message].filter(Boolean).join(' ');
}
