/** The catalog, the probes and this reference. */
import * as z from 'zod';
import { json, type OperationDoc, type PathDoc } from '../operation';
import { presetsSchema, healthSchema } from '../schemas/catalog';

const openApiDocument = z
  .looseObject({ openapi: z.string(), info: z.looseObject({ title: z.string(), version: z.string() }) })
  .meta({ id: 'OpenApiDocument', description: 'An OpenAPI 3.1 document.' });

const text = (mediaType: string) => ({ [mediaType]: { schema: { type: 'string' } } });

const READY = 'The database, Redis when the deployment uses it, and the message bus answer.';

const probe = (summary: string, description: string): PathDoc => ({
  summary,
  description: `${description} 200 when every check passed, 503 when one failed.`,
  responses: {
    200: { description: 'Every check passed.', content: json(healthSchema) },
    503: {
      description: 'A check failed; ask again after `Retry-After`.',
      content: json(healthSchema),
      headers: { 'Retry-After': { description: 'Seconds to wait.', schema: { type: 'integer' }, required: true } },
    },
  },
});

export const platformOperations = {
  presets: {
    summary: 'What a job can ask for',
    description:
      'The recipes; the languages this deployment speaks, its voice engine and every engine with its languages; audio formats and still resolutions; the music styles; the effects presets with what each does, its loudness target and its true-peak ceiling.',
    tags: ['Catalog'],
    responses: { 200: { description: 'The catalog.', content: json(presetsSchema) } },
  },
  health: {
    summary: 'Health',
    description: 'Probes: each names every check it made with its status and latency.',
    tags: ['Operations'],
    responses: {},
    paths: {
      '/health': probe('Readiness (as `/health/ready`)', READY),
      '/health/startup': probe(
        'Startup',
        'The configuration parses and the database has every migration of this code applied.',
      ),
      '/health/live': probe('Liveness', 'Nothing but the process answering: a dependency down never fails it.'),
      '/health/ready': probe('Readiness', READY),
    },
  },
  metrics: {
    summary: 'Metrics',
    description:
      "Prometheus text exposition: this instance's requests, rate-limit refusals and database pool, and the system's jobs, queue and deliveries read from the database (docs/metrics.md). For the operators' scraper, with its own token.",
    tags: ['Operations'],
    responses: { 200: { description: 'The metrics.', content: text('text/plain; version=0.0.4; charset=utf-8') } },
  },
  openapi: {
    summary: 'This document',
    description: 'The OpenAPI 3.1 document of this API, generated from the schemas the functions validate with.',
    tags: ['Operations'],
    responses: { 200: { description: 'The document.', content: json(openApiDocument) } },
  },
  docs: {
    summary: 'API reference',
    description: 'This document rendered for people (Swagger UI), served with its assets by the function itself.',
    tags: ['Operations'],
    responses: {},
    paths: {
      '/docs': {
        summary: 'API reference page',
        description: 'The page; it renders `GET /openapi.json`.',
        responses: { 200: { description: 'The page.', content: text('text/html') } },
      },
      '/docs/swagger-ui.css': {
        summary: "The reference page's stylesheet",
        description: "Swagger UI's stylesheet.",
        responses: { 200: { description: 'The stylesheet.', content: text('text/css') } },
      },
      '/docs/swagger-ui-bundle.js': {
        summary: "The reference page's renderer",
        description: 'Swagger UI.',
        responses: { 200: { description: 'The script.', content: text('text/javascript') } },
      },
      '/docs/swagger-initializer.js': {
        summary: "The reference page's set-up",
        description: 'Starts Swagger UI on `GET /openapi.json`, with no request to any other origin.',
        responses: { 200: { description: 'The script.', content: text('text/javascript') } },
      },
    },
  },
} satisfies Record<string, OperationDoc>;
