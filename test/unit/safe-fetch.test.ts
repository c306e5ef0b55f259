import { assertPublicAddress, checkUrlShape, FetchError, redactUrl } from '../../shared/net';

function refusal(fn: () => unknown): FetchError | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof FetchError) return err;
    throw err;
  }
  return undefined;
}

describe('assertPublicAddress', () => {
  it.each([
    ['127.0.0.1', 'IPv4 loopback'],
    ['127.255.0.9', 'anywhere in 127/8'],
    ['10.0.0.1', 'RFC1918 10/8'],
    ['172.16.0.1', 'RFC1918 172.16/12 low end'],
    ['172.31.255.255', 'RFC1918 172.16/12 high end'],
    ['192.168.1.10', 'RFC1918 192.168/16'],
    ['169.254.169.254', 'cloud metadata server'],
    ['169.254.0.1', 'link-local'],
    ['100.64.0.1', 'CGNAT low end'],
    ['100.127.255.254', 'CGNAT high end'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', '"this network" 0/8'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast (SSDP)'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved 240/4'],
    ['192.0.2.1', 'documentation TEST-NET-1'],
    ['198.18.0.1', 'benchmarking'],
    ['::', 'IPv6 unspecified'],
    ['::1', 'IPv6 loopback'],
    ['fe80::1', 'IPv6 link-local'],
    ['fe80::1%eth0', 'IPv6 link-local with zone'],
    ['febf:ffff::1', 'fe80::/10 high end'],
    ['fc00::1', 'unique-local fc00::/7'],
    ['fd12:3456:789a::1', 'unique-local fd00::/8'],
    ['ff02::1', 'IPv6 multicast'],
    ['2001:db8::1', 'IPv6 documentation'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
    ['::ffff:7f00:1', 'IPv4-mapped loopback, hex form'],
    ['::ffff:10.1.2.3', 'IPv4-mapped private'],
    ['::ffff:169.254.169.254', 'IPv4-mapped metadata server'],
    ['::ffff:0:a9fe:a9fe', 'IPv4-translated (RFC 6145) metadata server'],
    ['64:ff9b::a9fe:a9fe', 'NAT64 of the metadata server'],
    ['2002:7f00:1::1', '6to4 of loopback'],
    ['2002:c0a8:101::1', '6to4 of 192.168.1.1'],
    ['::127.0.0.1', 'deprecated IPv4-compatible form'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo'],
    ['127.0.0.01', 'non-canonical dotted quad'],
    ['2130706433', 'integer form of 127.0.0.1'],
    ['localhost', 'not an address at all'],
    ['', 'empty'],
  ])('refuses %s (%s)', (ip) => {
    expect(refusal(() => assertPublicAddress(ip))?.code).toBe('url_forbidden');
  });

  it.each([
    ['8.8.8.8'],
    ['1.1.1.1'],
    ['142.250.74.110'],
    ['100.63.255.255'], // just below CGNAT
    ['100.128.0.1'], // just above CGNAT
    ['172.15.255.255'], // just below 172.16/12
    ['172.32.0.1'], // just above 172.16/12
    ['169.253.255.255'],
    ['2001:4860:4860::8888'],
    ['2606:4700:4700::1111'],
    ['::ffff:8.8.8.8'],
    ['64:ff9b::808:808'],
    ['2002:808:808::1'],
  ])('allows %s', (ip) => {
    expect(() => assertPublicAddress(ip)).not.toThrow();
  });
});

describe('checkUrlShape', () => {
  it.each([
    'https://cdn.example.com/videos/a.mp4?X-Goog-Signature=abc',
    'http://example.com:8080/a.mp4',
    'http://[2001:4860:4860::8888]/a.mp4',
    'HTTPS://Example.COM/a.mp4',
  ])('accepts %s', (url) => {
    expect(checkUrlShape(url)).toBeInstanceOf(URL);
  });

  it.each([
    ['ftp://example.com/a.mp4', 'ftp'],
    ['file:///etc/passwd', 'file'],
    ['gopher://example.com:70/_x', 'gopher'],
    ['data:video/mp4;base64,AAAA', 'data'],
    ['javascript:alert(1)', 'javascript'],
    ['ws://example.com/a', 'websocket'],
    ['https://user:secret@example.com/a.mp4', 'user and password'],
    ['https://user@example.com/a.mp4', 'user only'],
    ['https://:secret@example.com/a.mp4', 'password only'],
    ['/relative/a.mp4', 'relative'],
    ['not a url', 'garbage'],
    ['http://metadata.google.internal/computeMetadata/v1/', 'GCE metadata name'],
    ['http://METADATA.google.internal./computeMetadata/v1/', 'metadata name, upper case and trailing dot'],
    ['http://metadata/computeMetadata/v1/', 'metadata short name'],
    ['http://db.c.my-project.internal/', 'VPC-internal zone'],
  ])('refuses %s (%s)', (url) => {
    expect(refusal(() => checkUrlShape(url))?.code).toBe('url_forbidden');
  });

  it('never echoes credentials or the query string', () => {
    const err = refusal(() => checkUrlShape('http://metadata.google.internal/x?token=hunter2'));
    const creds = refusal(() => checkUrlShape('https://alice:hunter2@example.com/a'));
    expect(err?.message).not.toContain('hunter2');
    expect(creds?.message).not.toContain('hunter2');
  });
});

describe('redactUrl', () => {
  it('keeps origin and path, drops query and fragment', () => {
    const url = new URL('https://storage.example.com:8443/b/o.mp4?X-Goog-Signature=deadbeef#t=10');
    expect(redactUrl(url)).toBe('https://storage.example.com:8443/b/o.mp4');
  });
});

describe('FetchError', () => {
  it('carries its code and, for HTTP errors, the status', () => {
    const err = new FetchError('input_http_error', 'HTTP 404', 404);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('FetchError');
    expect(err.code).toBe('input_http_error');
    expect(err.status).toBe(404);
  });
});
