/**
 * What the functions-framework would answer on its own (a body it cannot parse, a charset or
 * content encoding it does not know, a URL it cannot decode, /favicon.ico, a crash) is a
 * problem+json with a stable code, over real HTTP through the framework's own server, as deployed.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import express from 'express';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { loadFunction } from '../../functions';
import { createApp } from '../../shared/http/app';
import { routeFrameworkErrors } from '../../shared/http/framework-errors';
import { closeTestEnv, newTenantKey, TestEnv, useTestEnv } from '../support/database';

const LIMIT = 4096;
const job = {
  video_url: 'https://videos.example.com/in/clip.mp4',
  voice_text: 'Welcome to the launch of our new product.',
};

let env: TestEnv;
let key: string;
let run: string;
let status: string;
let crash: string;
const servers: Server[] = [];

async function listen(server: Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function send(url: string, init: RequestInit & { duplex?: 'half' } = {}) {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: Record<string, any> = {};
  try {
    body = JSON.parse(text);
  } catch {
    body = { text };
  }
  return { status: res.status, headers: res.headers, body };
}

function submit(body: BodyInit, headers: Record<string, string> = {}, init: { duplex?: 'half' } = {}) {
  return send(`${run}/pipeline/run`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body,
    ...init,
  });
}

function expectProblem(r: Awaited<ReturnType<typeof send>>, httpStatus: number, code: string): void {
  expect({ status: r.status, code: r.body.code }).toEqual({ status: httpStatus, code });
  expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(r.body).toMatchObject({ type: `https://aiprod.dev/problems/${code}`, status: httpStatus });
  // Answered by our app, not around it: the request id and the security headers are there.
  expect(r.headers.get('x-request-id')).toBeTruthy();
  expect(r.headers.get('x-content-type-options')).toBe('nosniff');
}

beforeAll(async () => {
  env = await useTestEnv({ AIPROD_MAX_BODY_BYTES: String(LIMIT), AIPROD_LOCAL_WORKERS: '0' });
  loadFunction('pipeline-run');
  loadFunction('pipeline-status');
  // A request whose handler throws out of band: only the framework's crash handler sees it.
  http(
    'crash-probe',
    createApp('health', () => {
      setImmediate(() => {
        throw new Error('secret internals');
      });
    }),
  );
  run = await listen(getTestServer('pipeline-run'));
  status = await listen(getTestServer('pipeline-status'));
  crash = await listen(getTestServer('crash-probe'));
  key = (await newTenantKey(env.db)).key;
});

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  await closeTestEnv();
});

describe('POST /pipeline/run bodies the framework cannot parse', () => {
  it.each([
    ['null', 'null'],
    ['a JSON string', '"hello"'],
    ['a number', '42'],
    ['truncated JSON', '{"a":'],
    ['an array', '[1, 2]'],
    ['not JSON at all', 'voice_text=hi'],
  ])('%s: 400 invalid_json', async (_what, body) => {
    const r = await submit(body);
    expectProblem(r, 400, 'invalid_json');
    expect(r.body.instance).toBe('/pipeline/run');
  });

  it('answers 400 invalid_json before asking for a key', async () => {
    const r = await send(`${run}/pipeline/run`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":',
    });
    expectProblem(r, 400, 'invalid_json');
  });

  it('413 payload_too_large for a body declared over the limit', async () => {
    const body = JSON.stringify({ ...job, voice_text: 'x'.repeat(LIMIT) });
    expectProblem(await submit(body), 413, 'payload_too_large');
  });

  it('413 payload_too_large for a chunked body over the limit', async () => {
    const bytes = new TextEncoder().encode(JSON.stringify({ ...job, voice_text: 'x'.repeat(LIMIT) }));
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(bytes.subarray(0, 1000));
        c.enqueue(bytes.subarray(1000));
        c.close();
      },
    });
    const r = await submit(stream, {}, { duplex: 'half' });
    expectProblem(r, 413, 'payload_too_large');
  });

  it.each([
    ['a charset JSON does not allow', 'application/json; charset=latin1', {}],
    ['an unknown charset', 'application/json; charset=utf-99', {}],
    ['an unknown content encoding', 'application/json', { 'content-encoding': 'compress' }],
  ])('415 unsupported_media_type for %s', async (_what, type, headers) => {
    const r = await submit(JSON.stringify(job), { 'content-type': type, ...headers });
    expectProblem(r, 415, 'unsupported_media_type');
  });

  it('400 bad_request for a corrupt gzip body', async () => {
    const r = await submit('not gzip at all', { 'content-encoding': 'gzip' });
    expectProblem(r, 400, 'bad_request');
  });

  it('still accepts a good body, plain or gzip-encoded, and one of another type is still 415', async () => {
    expect((await submit(JSON.stringify(job))).status).toBe(202);
    const zipped = await submit(gzipSync(JSON.stringify({ ...job, voice_text: 'Zipped.' })), {
      'content-encoding': 'gzip',
    });
    expect(zipped.status).toBe(202);
    expectProblem(await submit('hello', { 'content-type': 'text/plain' }), 415, 'unsupported_media_type');
  });
});

describe('what else the framework answered itself', () => {
  it.each(['/favicon.ico', '/robots.txt'])('%s: 404 not_found from our app', async (path) => {
    expectProblem(await send(`${run}${path}`), 404, 'not_found');
  });

  it('a URL that does not decode: 400 bad_request', async () => {
    expectProblem(await send(`${status}/pipeline/%E0%A4%A`), 400, 'bad_request');
  });

  it('a crash during a request: 500 internal_error, without the error message', async () => {
    const quiet = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const r = await send(`${crash}/health/live`);
      expectProblem(r, 500, 'internal_error');
      expect(r.headers.get('x-google-status')).toBe('crash');
      expect(JSON.stringify(r.body)).not.toMatch(/secret internals/);
      expect(r.body.detail).toContain(r.headers.get('x-request-id'));
      // The framework still logged it.
      expect(quiet).toHaveBeenCalledWith(expect.stringMatching(/secret internals/));
    } finally {
      quiet.mockRestore();
    }
  });

  it('leaves functions that are not our apps to the framework', async () => {
    http('plain-probe', (_req, res) => {
      res.send('plain');
    });
    const plain = await listen(getTestServer('plain-probe'));
    const r = await send(`${plain}/x`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
    expect(r.status).toBe(400);
    expect(r.headers.get('content-type')).toMatch(/^text\/html/);
    expect((await send(`${plain}/favicon.ico`)).status).toBe(404);
  });

  it('hooks the framework once, however many apps ask', () => {
    // The module the framework's entry point and testing helper call getServer on.
    const server = require(join(dirname(require.resolve('@google-cloud/functions-framework')), 'server.js'));
    expect(server[Symbol.for('aiprod.http.frameworkHooks')]).toBe(true);
    const getServer = server.getServer;
    routeFrameworkErrors(express());
    routeFrameworkErrors(express());
    expect(server.getServer).toBe(getServer);
  });
});
