import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { explainAuthFailure } from '../../src/auth/explain-auth-failure.js';
import { SignInNetwork } from '../../src/auth/msal-config.js';

// msal's requests to the sign-in service go through SignInNetwork: every one is given up after
// the timeout, and each failure keeps a code that explainAuthFailure turns into advice. Real
// sockets on loopback.
const servers: net.Server[] = [];
const sockets = new Set<net.Socket>();
afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

async function listen(server: net.Server): Promise<string> {
  servers.push(server);
  server.on('connection', (socket: net.Socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('SignInNetwork', () => {
  it('sends https://<loopback> requests over plain http and returns the JSON answer', async () => {
    const host = await listen(
      http.createServer((request, response) => {
        let body = '';
        request.on('data', (chunk) => (body += chunk));
        request.on('end', () => response.setHeader('x-seen', `${request.method} ${request.url} ${body}`).end('{"access_token":"t"}'));
      }),
    );
    const answer = await new SignInNetwork(5000, host).sendPostRequestAsync(`https://${host}/tenant/oauth2/v2.0/token`, { body: 'grant_type=x', headers: {} });
    expect(answer).toMatchObject({ status: 200, body: { access_token: 't' }, headers: { 'x-seen': 'POST /tenant/oauth2/v2.0/token grant_type=x' } });
  });

  it('gives up on a service that takes the connection and never answers', async () => {
    const host = await listen(net.createServer(() => undefined));
    const started = Date.now();
    const failure = await new SignInNetwork(300, host)
      .sendPostRequestAsync(`https://${host}/tenant/oauth2/v2.0/token`, { body: '' })
      .catch((error: unknown) => error);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(failure).toMatchObject({ code: 'ETIMEDOUT', message: `the sign-in service at ${host} did not answer within 0 s` });
    expect(explainAuthFailure(failure)).toMatch(/did not answer in time \(IMAP_TIMEOUT_MS\).*\(ETIMEDOUT\)$/);
  });

  it('gives up on an answer that stops half way', async () => {
    const host = await listen(http.createServer((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).write('{"access_')));
    const failure = await new SignInNetwork(300, host)
      .sendGetRequestAsync(`https://${host}/x`)
      .catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'ETIMEDOUT' });
  });

  it('keeps the reason a connection failed', async () => {
    const host = await listen(net.createServer());
    await new Promise((resolve) => servers.pop()!.close(resolve));
    const failure = await new SignInNetwork(5000, host)
      .sendGetRequestAsync(`https://${host}/x`)
      .catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'ECONNREFUSED' });
    expect(explainAuthFailure(failure)).toMatch(/could not be reached.*\(ECONNREFUSED\)$/);
  });

  it('says so when something other than the sign-in service answers (a proxy page)', async () => {
    const host = await listen(http.createServer((_request, response) => response.writeHead(403, { 'content-type': 'text/html' }).end('<html>Blocked by policy</html>')));
    const failure = await new SignInNetwork(5000, host)
      .sendPostRequestAsync(`https://${host}/x`, { body: '' })
      .catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'ENOTJSON', message: 'the sign-in service answered HTTP 403 with something that is not a token answer' });
    expect(explainAuthFailure(failure)).toMatch(/something other than the Microsoft sign-in service answered/);
  });

  it("gives msal's bare network_error the reason of the request that failed, and leaves other errors alone", async () => {
    const host = await listen(net.createServer());
    await new Promise((resolve) => servers.pop()!.close(resolve));
    const network = new SignInNetwork(5000, host);
    const msalSaid = { errorCode: 'network_error', errorMessage: 'See https://aka.ms/msal.js.errors#network_error for details' };
    expect(network.reasonFor(msalSaid)).toBe(msalSaid);
    await network.sendGetRequestAsync(`https://${host}/x`).catch(() => undefined);
    expect(network.reasonFor(msalSaid)).toMatchObject({ code: 'ECONNREFUSED' });
    const refused = { errorCode: 'invalid_client', errorMessage: 'AADSTS7000215: Invalid client secret provided.' };
    expect(network.reasonFor(refused)).toBe(refused);
  });
});
