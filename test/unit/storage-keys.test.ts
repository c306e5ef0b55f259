import { assertBucketName, assertObjectKey, InvalidObjectNameError } from '../../shared/storage';

describe('assertBucketName', () => {
  it.each(['aiprod-results', 'abc', 'my.bucket_1', 'a'.repeat(63)])('accepts %s', (bucket) => {
    expect(() => assertBucketName(bucket)).not.toThrow();
  });

  it.each([
    '',
    'ab',
    'a'.repeat(64),
    'Upper',
    '-leading',
    'trailing-',
    '.hidden',
    'a..b',
    'has space',
    'slash/inside',
    '..',
  ])('refuses %j', (bucket) => {
    expect(() => assertBucketName(bucket)).toThrow(InvalidObjectNameError);
  });
});

describe('assertObjectKey', () => {
  it.each(['a', 'jobs/123/output.mp4', 'dir/sub dir/ünïcödé.wav', 'a..b/c', '...', 'x/.hidden'])(
    'accepts %j',
    (key) => {
      expect(() => assertObjectKey(key)).not.toThrow();
    },
  );

  it.each([
    ['', 'empty'],
    ['/etc/passwd', 'absolute'],
    ['..', 'parent'],
    ['../secrets', 'leading parent'],
    ['a/../../b', 'parent in the middle'],
    ['a/..', 'trailing parent'],
    ['./a', 'current-dir segment'],
    ['a//b', 'empty segment'],
    ['a/', 'trailing slash'],
    ['a\\..\\b', 'backslash'],
    ['a\0.mp4', 'NUL'],
    ['a\nb', 'newline'],
    ['x'.repeat(1025), 'over 1024 bytes'],
    ['é'.repeat(513), 'over 1024 bytes in UTF-8'],
  ])('refuses %j (%s)', (key) => {
    expect(() => assertObjectKey(key)).toThrow(InvalidObjectNameError);
  });
});
