import { http } from '@google-cloud/functions-framework';
import { docs } from '../../shared/api/docs';
import { createApp } from '../../shared/http/app';
import { DOCS_CSP } from '../../shared/openapi/docs-page';

http('docs', createApp('docs', docs, { csp: DOCS_CSP }));
