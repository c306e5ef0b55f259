import { Writable } from 'node:stream';
import { redactString } from '../../shared/log';
import { savedEnv } from '../support/env';

describe('log redaction', () => {
  it('removes API keys and signed-URL credentials from strings', () => {
    const line = redactString(
      'key sk_live_abcDEF123456_secretpart-xyz used for https://h/o.mp4?X-Goog-Signature=abc&expires=1',
    );
    expect(line).not.toMatch(/secretpart|abc&|X-Goog-Signature=abc/);
    expect(line).toContain('https://h/o.mp4?');
  });
});

describe('lines under LOG_LEVEL', () => {
  let restore: () => void;
  beforeEach(() => (restore = savedEnv('LOG_LEVEL', 'LOG_IN_TESTS')));
  afterEach(() => restore());

  it('are dropped before any format reads them; lines at the level are written, redacted', () => {
    process.env.LOG_LEVEL = 'warn';
    process.env.LOG_IN_TESTS = '1';
    const written: Record<string, unknown>[] = [];
    let reads = 0;
    jest.isolateModules(() => {
      const winston = require('winston') as typeof import('winston');
      const { logger } = require('../../shared/log') as typeof import('../../shared/log');
      const log = logger();
      const lines = new Writable({
        write(chunk: Buffer, _encoding, done) {
          written.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
          done();
        },
      });
      log.clear().add(new winston.transports.Stream({ stream: lines }));
      const probe = {
        get detail() {
          reads++;
          return 'sk_live_abcdef123456';
        },
      };
      log.info('under the level', { probe });
      log.debug('further under', { probe });
      log.warn('at the level', { probe });
    });
    expect(written.map((l) => l.message)).toEqual(['at the level']);
    expect(written[0]!.probe).toEqual({ detail: 'sk_live_[redacted]' });
    expect(reads).toBe(1);
  });
});
