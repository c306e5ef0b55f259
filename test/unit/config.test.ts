import { parseConfig } from '../../shared/config';

describe('configuration', () => {
  const base = { DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/db' };

  it('has working defaults', () => {
    const c = parseConfig(base);
    expect(c.AIPROD_MODE).toBe('local');
    expect(c.PORT).toBe(8080);
    expect(c.publicUrl).toBe('http://localhost:8080');
    expect(c.AIPROD_ALLOW_PRIVATE_URLS).toBe(false);
    expect(c.AIPROD_MAX_INPUT_BYTES).toBeUndefined();
  });

  it.each([
    [{ ...base, DATABASE_URL: 'mysql://x/y' }, 'DATABASE_URL'],
    [{ ...base, PORT: 'eighty' }, 'PORT'],
    [{ ...base, AIPROD_MODE: 'aws' }, 'AIPROD_MODE'],
    [{ ...base, AIPROD_ALLOW_PRIVATE_URLS: 'yes' }, 'AIPROD_ALLOW_PRIVATE_URLS'],
  ])('refuses %j naming %s', (env, name) => {
    expect(() => parseConfig(env)).toThrow(new RegExp(`invalid configuration: .*${name}`));
  });
});
