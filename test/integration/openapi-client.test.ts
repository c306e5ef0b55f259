/**
 * A client generated from docs/openapi.json (openapi-typescript) type-checks, strictly, against
 * the README: its openapi-fetch example as written, and every request body it shows under a
 * `### \`POST /path\`` heading sent through the same client. A body with a wrong field type or a
 * misspelt field fails the check, so the check can fail.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '../..');
const bin = (name: string): string => join(root, 'node_modules', '.bin', name);

interface ReadmeBody {
  method: string;
  path: string;
  body: Record<string, unknown>;
}

/** The README's code blocks, each with the heading it sits under. */
function codeBlocks(markdown: string): { heading: string; lang: string; code: string }[] {
  const blocks: { heading: string; lang: string; code: string }[] = [];
  let heading = '';
  let open: { lang: string; lines: string[] } | undefined;
  for (const line of markdown.split('\n')) {
    if (open) {
      if (line.startsWith('```')) {
        blocks.push({ heading, lang: open.lang, code: open.lines.join('\n') });
        open = undefined;
      } else open.lines.push(line);
    } else if (line.startsWith('```')) open = { lang: line.slice(3).trim(), lines: [] };
    else if (line.startsWith('#')) heading = line;
  }
  return blocks;
}

const readme = readFileSync(join(root, 'README.md'), 'utf8');
const blocks = codeBlocks(readme);

/** A JSON block right under an endpoint's heading is that endpoint's request body. */
const bodies: ReadmeBody[] = blocks.flatMap((b) => {
  const m = /^### `(POST|DELETE) (\/\S+)`$/.exec(b.heading);
  return m && b.lang === 'json' ? [{ method: m[1]!, path: m[2]!, body: JSON.parse(b.code) }] : [];
});
const clientExample = blocks.find((b) => b.heading === '## API reference' && b.lang === 'ts')?.code;

const HEADER = `import createClient from 'openapi-fetch';
import type { paths } from './aiprod-api';

const api = createClient<paths>({ baseUrl: 'http://localhost:8080' });
`;

/** Each body sent as the README shows it, its path variables filled in. */
function requestsModule(requests: ReadmeBody[]): string {
  return (
    HEADER +
    requests
      .map(({ method, path, body }) => {
        const vars = [...path.matchAll(/\{([a-z_]+)\}/g)].map((m) => `${m[1]}: 'x'`);
        const params = vars.length ? `, params: { path: { ${vars.join(', ')} } }` : '';
        return `await api.${method}('${path}', { body: ${JSON.stringify(body, null, 2)}${params} });\n`;
      })
      .join('')
  );
}

let dir: string;

function typecheck(files: Record<string, string>): { ok: boolean; output: string } {
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  try {
    execFileSync(
      bin('tsc'),
      [
        '--noEmit',
        '--strict',
        '--target',
        'es2022',
        '--module',
        'esnext',
        '--moduleResolution',
        'bundler',
        '--types',
        'node',
        ...Object.keys(files),
      ],
      { cwd: dir, encoding: 'utf8', stdio: 'pipe' },
    );
    return { ok: true, output: '' };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'aiprod-client-'));
  // openapi-fetch and @types/node resolve from the project's own install.
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  // The README's command: a request field with a default (voice_language) stays optional.
  const command = /npx openapi-typescript docs\/openapi\.json (.*) -o aiprod-api\.d\.ts/.exec(readme);
  if (!command) throw new Error("the README's API reference lost its openapi-typescript command");
  execFileSync(
    bin('openapi-typescript'),
    [join(root, 'docs', 'openapi.json'), ...command[1]!.split(/\s+/), '-o', join(dir, 'aiprod-api.d.ts')],
    { stdio: 'pipe' },
  );
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('finds the README example and its request bodies', () => {
  expect(clientExample).toMatch(/createClient<paths>/);
  expect(bodies.map((b) => `${b.method} ${b.path}`)).toContain('POST /pipeline/run');
});

it('type-checks the README client example and every README request body against the generated types', () => {
  const result = typecheck({ 'readme-example.ts': clientExample!, 'readme-bodies.ts': requestsModule(bodies) });
  expect(result).toEqual({ ok: true, output: '' });
}, 60_000);

it.each([
  ['a field of the wrong type', { voice_text: 42 }, /voice_text|number/],
  ['a misspelt field', { voice_txet: 'Welcome to the show.' }, /voice_txet/],
  ['a value out of its enum', { music_style: 'polka' }, /polka/],
])(
  'refuses a README body with %s',
  (_what, change, message) => {
    const run = bodies.find((b) => b.path === '/pipeline/run')!;
    const wrong = { ...run, body: { ...run.body, ...change } };
    const result = typecheck({ 'wrong-body.ts': requestsModule([wrong]) });
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/wrong-body\.ts\(\d+,\d+\): error TS/);
    expect(result.output).toMatch(message);
  },
  60_000,
);
