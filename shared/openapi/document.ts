/**
 * The OpenAPI 3.1 document, generated (zod-to-openapi) from the manifest and the operation docs:
 * every HTTP function of the manifest, each of its paths on its method, with the auth and the
 * rate limit its entry declares, the request schemas its handler validates with, the answers its
 * view builders write, and the problems it can answer. Nothing here is hand-written JSON but
 * the few composition references; only the openapi function and `npm run openapi` load it.
 */
import {
  OpenApiGeneratorV31,
  OpenAPIRegistry,
  type ResponseConfig,
  type RouteConfig,
} from '@asteasolutions/zod-to-openapi';
import * as z from 'zod';
import { version } from '../../package.json';
import { httpFunctions, type HttpFunction } from '../platform/manifest';
import { OPERATIONS } from './operations';
import {
  TAGS,
  type HeaderDoc,
  type OperationDoc,
  type ProblemCodes,
  type ProblemStatus,
  type ResponseDoc,
} from './operation';
import { jobRequestSchema } from './requests';
import { problemSchema } from './schemas/problem';

export type OpenApiDocument = ReturnType<OpenApiGeneratorV31['generateDocument']>;
/** The library's map of response headers (OpenAPI's Headers Object). */
type HeadersObject = Exclude<NonNullable<ResponseConfig['headers']>, z.ZodObject>;

const ref = (kind: 'headers' | 'schemas', name: string) => ({ $ref: `#/components/${kind}/${name}` });

const DESCRIPTION = `Partners send a video and a voice-over script; AIPROD synthesizes the voice, adds music, applies an effects preset, mixes and normalizes the sound, puts it on the original picture and stores the result.

**Authentication.** \`Authorization: Bearer sk_live_…\` (an API key, or the token of \`POST /auth/login\`); without a valid one, 401 \`unauthorized\`. A job's event stream also opens with its signed \`events_url\`.

**Errors** are RFC 9457 \`application/problem+json\` with a stable \`code\`; each response below lists the codes it can carry, and a 422 has one entry per bad field in \`errors\`.

**Rate limits** per tenant and tier, every window at once: submits are every POST and DELETE, reads every GET. Every answer of a limited endpoint carries \`RateLimit-Policy\` and \`RateLimit\`; a 429 also \`Retry-After\`.

**Lists** are keyset pages, newest first: \`{data, next_cursor}\`, \`next_cursor\` null on the last page.

Every response carries \`X-Request-Id\`.`;

const HEADERS = {
  'X-Request-Id': {
    description: 'The id of this request (yours when you sent a well-formed one); quote it to support.',
    schema: { type: 'string' },
  },
  RateLimit: {
    description:
      'The window closest to its limit: requests remaining (`r`) and seconds to its reset (`t`); on a 429, the window that refused (IETF RateLimit header fields).',
    schema: { type: 'string', examples: ['"minute";r=7;t=42'] },
  },
  'RateLimit-Policy': {
    description: "Every window of the caller's budget: its quota (`q`) and length in seconds (`w`).",
    schema: { type: 'string', examples: ['"minute";q=10;w=60, "hour";q=100;w=3600, "day";q=1000;w=86400'] },
  },
  'Retry-After': { description: 'Seconds to wait before trying again.', schema: { type: 'integer', minimum: 0 } },
  'WWW-Authenticate': { description: '`Bearer realm="aiprod"`', schema: { type: 'string' } },
} satisfies Record<string, HeaderDoc>;

/** How a caller proves who it is, per the entry's auth: every value handled, so a new one fails the typecheck. */
function security(fn: HttpFunction): Record<string, string[]>[] {
  switch (fn.auth) {
    case 'api_key':
      return [{ ApiKey: [] }];
    case 'api_key_or_signed':
      return [{ ApiKey: [] }, { SignedUrl: [] }];
    case 'metrics_token':
      return [{ MetricsToken: [] }];
    case 'public':
      return [];
    default: {
      const unknown: never = fn.auth;
      throw new Error(`${fn.name}: no security scheme for auth ${String(unknown)}`);
    }
  }
}

function authProblems(fn: HttpFunction): ProblemCodes {
  switch (fn.auth) {
    case 'api_key':
      // The key is looked up in the database: a saturated pool sheds the request.
      return { 401: ['unauthorized'], 503: ['service_busy'] };
    case 'api_key_or_signed':
      return { 401: ['unauthorized', 'url_expired'], 503: ['service_busy'] };
    case 'metrics_token':
      return { 401: ['unauthorized'], 503: ['metrics_token_unset'] };
    case 'public':
      return {};
    default: {
      const unknown: never = fn.auth;
      throw new Error(`${fn.name}: no problems known for auth ${String(unknown)}`);
    }
  }
}

const rateLimited = (fn: HttpFunction): boolean => fn.rateLimit !== 'none';

/** Every problem the route can answer: what its entry implies, then its operation's own. */
function problemCodes(fn: HttpFunction, op: OperationDoc, path: string): ProblemCodes {
  const sets: ProblemCodes[] = [
    // Any route: a URL that cannot be decoded, a bug, an instance that is stopping.
    { 400: ['bad_request'], 500: ['internal_error'], 503: ['shutting_down'] },
    op.request?.body ? { 400: ['invalid_json'], 413: ['payload_too_large'], 415: ['unsupported_media_type'] } : {},
    authProblems(fn),
    rateLimited(fn) ? { 429: ['rate_limited'] } : {},
    path.includes('{') ? { 404: ['not_found'] } : {},
    op.problems ?? {},
  ];
  const merged = new Map<ProblemStatus, Set<string>>();
  for (const set of sets) {
    for (const [status, codes] of Object.entries(set) as [string, readonly string[]][]) {
      const into = merged.get(Number(status) as ProblemStatus) ?? new Set<string>();
      for (const code of codes) into.add(code);
      merged.set(Number(status) as ProblemStatus, into);
    }
  }
  return Object.fromEntries([...merged].sort(([a], [b]) => a - b).map(([s, codes]) => [s, [...codes]]));
}

/** The RateLimit headers on every answer that passed the limiter: the successes, the handler's refusals, the 429. */
const CARRIES_RATE_LIMIT = new Set([403, 404, 409, 410, 422, 429]);

function headersFor(fn: HttpFunction, status: number, own: ResponseDoc['headers'] = {}): HeadersObject {
  const headers: HeadersObject = { 'X-Request-Id': ref('headers', 'X-Request-Id') };
  if (rateLimited(fn) && (status < 400 || CARRIES_RATE_LIMIT.has(status))) {
    headers.RateLimit = ref('headers', 'RateLimit');
    headers['RateLimit-Policy'] = ref('headers', 'RateLimit-Policy');
  }
  if (status === 429 || status === 503) headers['Retry-After'] = ref('headers', 'Retry-After');
  if (status === 401) headers['WWW-Authenticate'] = ref('headers', 'WWW-Authenticate');
  return { ...headers, ...own } as HeadersObject;
}

function problemResponse(fn: HttpFunction, status: number, codes: readonly string[]): ResponseConfig {
  return {
    description: `Problem: ${codes.map((c) => `\`${c}\``).join(', ')}.`,
    headers: headersFor(fn, status),
    content: {
      'application/problem+json': {
        schema: {
          allOf: [
            ref('schemas', 'Problem'),
            { type: 'object', properties: { status: { const: status }, code: { type: 'string', enum: [...codes] } } },
          ],
        },
      },
    },
  };
}

function successResponse(fn: HttpFunction, status: number, r: ResponseDoc): ResponseConfig {
  return {
    description: r.description,
    headers: headersFor(fn, status, r.headers),
    ...(r.content ? { content: r.content as ResponseConfig['content'] } : {}),
  };
}

/** `pipeline-run` -> `pipelineRun`; a second path of a function adds what it has beyond the first. */
function operationId(fn: HttpFunction, path: string): string {
  const first = fn.paths[0]!;
  const extra = path === first ? '' : path.startsWith(first) ? path.slice(first.length) : path;
  const words = `${fn.name} ${extra}`.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return words.map((w, i) => (i === 0 ? w : w[0]!.toUpperCase() + w.slice(1))).join('');
}

function pathParams(fn: HttpFunction, op: OperationDoc, path: string): z.ZodObject | undefined {
  const names = [...path.matchAll(/\{([a-z_]+)\}/g)].map((m) => m[1]!);
  if (names.length === 0) return undefined;
  return z.object(
    Object.fromEntries(
      names.map((name) => {
        const description = op.params?.[name];
        if (!description) throw new Error(`${fn.name}: path variable {${name}} of ${path} is not described`);
        return [name, z.uuid().meta({ description })];
      }),
    ),
  );
}

function route(fn: HttpFunction, op: OperationDoc, path: string): RouteConfig {
  const own = op.paths ? op.paths[path] : op;
  if (!own) throw new Error(`${fn.name}: ${path} has no entry in its operation's paths`);
  const responses: RouteConfig['responses'] = {};
  for (const [status, r] of Object.entries(own.responses ?? op.responses)) {
    responses[status] = successResponse(fn, Number(status), r);
  }
  for (const [status, codes] of Object.entries(problemCodes(fn, op, path))) {
    const problem = problemResponse(fn, Number(status), codes);
    const answer = responses[status] as ResponseConfig | undefined;
    // A status the operation answers itself (a probe's 503) may also come as a problem (shutting down).
    responses[status] = answer
      ? {
          description: `${answer.description} Or a problem: ${codes.map((c) => `\`${c}\``).join(', ')}.`,
          headers: { ...problem.headers, ...answer.headers } as HeadersObject,
          content: { ...answer.content, ...problem.content },
        }
      : problem;
  }
  const body = op.request?.body;
  return {
    method: fn.method.toLowerCase() as 'get' | 'post' | 'delete',
    path,
    operationId: operationId(fn, path),
    summary: own.summary,
    description: own.description,
    tags: op.tags,
    security: security(fn),
    request: {
      params: pathParams(fn, op, path),
      query: op.request?.query,
      headers: op.request?.headers,
      ...(body
        ? {
            body: {
              required: true,
              ...(body.description ? { description: body.description } : {}),
              content: { 'application/json': { schema: body.schema, examples: body.examples } },
            },
          }
        : {}),
    },
    responses,
  };
}

/** The document of these functions (the manifest's HTTP functions by default); throws for one without its doc. */
export function buildOpenApiDocument(functions: HttpFunction[] = httpFunctions()): OpenApiDocument {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'ApiKey', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'sk_live_<12 chars>_<43 chars>',
    description: 'An API key (`npm run api-key -- create`), or the API token `POST /auth/login` answers.',
  });
  registry.registerComponent('securitySchemes', 'SignedUrl', {
    type: 'apiKey',
    in: 'query',
    name: 'token',
    description:
      'The signed `events_url` of `GET /pipeline/{id}`: valid one hour, for that one stream (401 `url_expired` after).',
  });
  registry.registerComponent('securitySchemes', 'MetricsToken', {
    type: 'http',
    scheme: 'bearer',
    description: "The operators' scraper token, `AIPROD_METRICS_TOKEN` (secret `metrics-token`); no tenant's key.",
  });
  for (const [name, header] of Object.entries(HEADERS)) {
    registry.registerComponent('headers', name, header as HeadersObject[string]);
  }
  const tags = new Set<string>();
  for (const fn of functions) {
    const op = OPERATIONS[fn.name];
    if (!op) throw new Error(`${fn.name} has no operation doc in shared/openapi/operations`);
    op.tags.forEach((t) => tags.add(t));
    for (const path of fn.paths) registry.registerPath(route(fn, op, path));
  }
  // Referenced from composed schemas (a problem's codes, a batch's items) rather than converted on the way.
  const referenced = [problemSchema, jobRequestSchema].map((schema) => ({ type: 'schema' as const, schema }));
  const generator = new OpenApiGeneratorV31([...registry.definitions, ...referenced]);
  return generator.generateDocument({
    openapi: '3.1.0',
    info: { title: 'AIPROD API', version, description: DESCRIPTION },
    tags: Object.entries(TAGS)
      .filter(([name]) => tags.has(name))
      .map(([name, description]) => ({ name, description })),
  });
}

/** The document as `GET /openapi.json` answers it and docs/openapi.json holds it. */
export const renderOpenApiJson = (doc: OpenApiDocument = buildOpenApiDocument()): string =>
  `${JSON.stringify(doc, null, 2)}\n`;
