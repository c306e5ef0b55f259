/**
 * The API reference page: Swagger UI (swagger-ui-dist) rendering GET /openapi.json. Every file the
 * page loads comes from the docs function itself, so it makes no request to another origin, and it
 * runs no inline script: its set-up is a file of its own, which the function's CSP allows as 'self'.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The files of swagger-ui-dist the page loads; the build ships them beside the docs bundle. */
export const SWAGGER_UI_FILES = ['swagger-ui.css', 'swagger-ui-bundle.js'] as const;

/** Where the build puts them, next to the bundle's index.js (scripts/build-functions.ts). */
export const BUNDLED_ASSETS_DIR = 'swagger-ui';

/** The deployed function has no node_modules: its own copy first, the package's otherwise (local stack, tests). */
export function swaggerUiDir(): string {
  const bundled = join(__dirname, BUNDLED_ASSETS_DIR);
  return existsSync(bundled) ? bundled : dirname(require.resolve('swagger-ui-dist/package.json'));
}

/** The page's CSP beyond `default-src 'none'`: its own scripts, styles (Swagger UI sets inline styles), images and fetches. */
export const DOCS_CSP: Record<string, string[]> = {
  scriptSrc: ["'self'"],
  styleSrc: ["'self'", "'unsafe-inline'"],
  imgSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
};

export const PAGE_HTML = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>AIPROD API reference</title>
    <link rel="icon" href="data:," />
    <link rel="stylesheet" href="/docs/swagger-ui.css" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/swagger-ui-bundle.js"></script>
    <script src="/docs/swagger-initializer.js"></script>
  </body>
</html>
`;

/** No validator badge (it would call validator.swagger.io); the base layout needs no standalone preset. */
export const INITIALIZER_JS = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    validatorUrl: null,
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
  });
});
`;
