/**
 * Whom an app of ours takes a request to come from, served as a deployed function is (through the
 * functions-framework, which itself trusts every X-Forwarded-For entry): the entry the trusted
 * proxies appended, never one the caller wrote.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { resetConfig } from '../../shared/config';
import { createApp, trustedProxyHops } from '../../shared/http/app';
import { logger } from '../../shared/log';

const VARIABLES = ['AIPROD_MODE', 'AIPROD_TRUSTED_PROXY_HOPS'] as const;
const saved = VARIABLES.map((name) => [name, process.env[name]] as const);

function configure(env: Partial<Record<(typeof VARIABLES)[number], string>>): void {
  for (const name of VARIABLES) {
    const value = env[name];
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  resetConfig();
}

const servers: Server[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  for (const [name, value] of saved) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  resetConfig();
});

let served = 0;
/** A function that answers the address it sees, built trusting `hops` proxies (the local default when undefined). */
async function addressFunction(hops?: string): Promise<string> {
  configure({ AIPROD_TRUSTED_PROXY_HOPS: hops });
  const name = `address-probe-${++served}`;
  http(
    name,
    createApp('health', (req, res) => void res.json({ ip: req.ip })),
  );
  const server = getTestServer(name);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function seenAs(url: string, forwardedFor?: string): Promise<string> {
  const res = await fetch(`${url}/health`, { headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {} });
  return ((await res.json()) as { ip: string }).ip;
}

describe('the caller address behind trusted proxies', () => {
  it('trusts the load balancer on Google Cloud and the gateway locally, unless told otherwise', () => {
    configure({ AIPROD_MODE: 'gcp' });
    expect(trustedProxyHops()).toBe(2);
    configure({});
    expect(trustedProxyHops()).toBe(1);
    configure({ AIPROD_MODE: 'gcp', AIPROD_TRUSTED_PROXY_HOPS: '0' });
    expect(trustedProxyHops()).toBe(0);
    // Empty is unset, not 0, which would make every caller the load balancer's address.
    configure({ AIPROD_MODE: 'gcp', AIPROD_TRUSTED_PROXY_HOPS: '' });
    expect(trustedProxyHops()).toBe(2);
  });

  it("on Google Cloud's two hops: the client the load balancer appended, before its own address", async () => {
    const url = await addressFunction('2');
    // What the load balancer forwards: the caller's own header, then `<client>, <forwarding rule>`.
    expect(await seenAs(url, '198.51.100.9, 203.0.113.7, 34.120.0.1')).toBe('203.0.113.7');
    expect(await seenAs(url, '203.0.113.7, 34.120.0.1')).toBe('203.0.113.7');
  });

  it('logs the request with that address, not the one the caller wrote', async () => {
    const url = await addressFunction('2');
    const info = jest.spyOn(logger(), 'info');
    try {
      await seenAs(url, '198.51.100.9, 203.0.113.7, 34.120.0.1');
      const line = (info.mock.calls as unknown[][]).find(([message]) => message === 'request');
      expect(line?.[1]).toMatchObject({ httpRequest: { requestUrl: '/health', remoteIp: '203.0.113.7' } });
    } finally {
      info.mockRestore();
    }
  });

  it('locally: the last entry, as the gateway stands in for the load balancer', async () => {
    const url = await addressFunction();
    expect(await seenAs(url, '198.51.100.9, 203.0.113.7')).toBe('203.0.113.7');
    expect(await seenAs(url)).toMatch(/127\.0\.0\.1$/);
  });

  it('with no trusted proxy: the socket, whatever the header says', async () => {
    const url = await addressFunction('0');
    expect(await seenAs(url, '203.0.113.7')).toMatch(/127\.0\.0\.1$/);
  });

  it('with a proxy of your own in front of the load balancer: one hop more', async () => {
    const url = await addressFunction('3');
    expect(await seenAs(url, '198.51.100.9, 203.0.113.7, 10.0.0.5, 34.120.0.1')).toBe('203.0.113.7');
  });
});
