import { randomUUID } from 'node:crypto';
import { resetConfig } from '../../shared/config';
import { checkEventsToken, eventsToken } from '../../shared/jobs/events-url';
import { savedEnv } from '../support/env';

const NOW = Date.UTC(2030, 0, 1);
const LATER = NOW / 1000 + 600;
const JOB = randomUUID();
const TENANT = randomUUID();
let restoreEnv: () => void;

beforeAll(() => {
  restoreEnv = savedEnv('AIPROD_MODE', 'AIPROD_LOCAL_SIGNING_KEY');
  process.env.AIPROD_MODE = 'local';
  process.env.AIPROD_LOCAL_SIGNING_KEY = 'a local signing key for events url tests';
  resetConfig();
});

afterAll(() => {
  restoreEnv();
  resetConfig();
});

/** The four spellings of the MAC's last character that decode to the same bytes. */
function sameBytesSpellings(token: string): string[] {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = alphabet.indexOf(token.at(-1)!);
  return [1, 2, 3].map((spare) => token.slice(0, -1) + alphabet[last | spare]);
}

describe('checkEventsToken', () => {
  it('grants the stream of the job it was signed for, until it expires', () => {
    const token = eventsToken(JOB, TENANT, LATER);
    expect(checkEventsToken(JOB, token, NOW)).toEqual({ ok: true, tenantId: TENANT });
    expect(checkEventsToken(JOB.toUpperCase(), token, NOW)).toEqual({ ok: true, tenantId: TENANT });
    expect(checkEventsToken(JOB, token, LATER * 1000)).toEqual({ ok: false, code: 'url_expired' });
    expect(checkEventsToken(randomUUID(), token, NOW)).toEqual({ ok: false, code: 'signature_invalid' });
  });

  it('accepts only the spelling it issued, not others that decode to the same MAC', () => {
    const token = eventsToken(JOB, TENANT, LATER);
    const spellings = sameBytesSpellings(token);
    for (const other of spellings) {
      expect(Buffer.from(other.split('.')[2]!, 'base64url')).toEqual(Buffer.from(token.split('.')[2]!, 'base64url'));
      expect(checkEventsToken(JOB, other, NOW)).toEqual({ ok: false, code: 'signature_invalid' });
    }
  });
});
