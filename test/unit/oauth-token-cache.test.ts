import { describe, expect, it } from 'vitest';
import { cachedTokenGetter } from '../../src/auth/cached-token.js';
import { explainAuthFailure } from '../../src/auth/explain-auth-failure.js';

describe('the in-memory access token', () => {
  it('is reused until five minutes before expiry, then renewed; a forced refresh always renews', async () => {
    let clock = 0;
    let issued = 0;
    const getToken = cachedTokenGetter(async () => ({ accessToken: `token-${++issued}`, expiresOn: new Date(clock + 60 * 60_000) }), () => clock);
    expect(await getToken()).toBe('token-1');
    clock = 54 * 60_000;
    expect(await getToken()).toBe('token-1');
    clock = 56 * 60_000;
    expect(await getToken()).toBe('token-2');
    expect(await getToken({ forceRefresh: true })).toBe('token-3');
  });

  it('asks once when several callers want a token at the same time', async () => {
    let issued = 0;
    const getToken = cachedTokenGetter(async () => {
      issued++;
      await new Promise((resolve) => setTimeout(resolve, 10));
      return { accessToken: 'shared', expiresOn: new Date(Date.now() + 3_600_000) };
    });
    expect(await Promise.all([getToken(), getToken(), getToken()])).toEqual(['shared', 'shared', 'shared']);
    expect(issued).toBe(1);
  });
});

describe('a refused sign-in, in plain words', () => {
  it('names the setting to check for each Microsoft error code', () => {
    expect(explainAuthFailure({ errorCode: 'invalid_client', errorMessage: 'AADSTS7000215: Invalid client secret provided. Trace ID: x' })).toBe(
      'AZURE_CLIENT_SECRET was refused by the tenant: check the secret value in .env (copy the secret VALUE, not its ID) (AADSTS7000215)',
    );
    expect(explainAuthFailure({ errorMessage: 'AADSTS7000222: The provided client secret keys are expired.' })).toMatch(/AZURE_CLIENT_SECRET has expired/);
    expect(explainAuthFailure({ errorMessage: 'AADSTS700016: Application not found' })).toMatch(/^AZURE_CLIENT_ID/);
    expect(explainAuthFailure({ errorMessage: 'AADSTS90002: Tenant not found' })).toMatch(/^AZURE_TENANT_ID/);
    expect(explainAuthFailure({ errorMessage: 'AADSTS70008: refresh token has expired' })).toMatch(/auth login/);
    expect(explainAuthFailure({ message: 'Network request failed: getaddrinfo ENOTFOUND login.microsoftonline.com' })).toMatch(/could not be reached.*AZURE_AUTHORITY_HOST/);
  });

  it('falls back to the settings to check, with the code, for anything else', () => {
    expect(explainAuthFailure({ errorMessage: 'AADSTS123456: something new' })).toMatch(/\(AADSTS123456\): check AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET/);
  });
});
