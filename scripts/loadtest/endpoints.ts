/** The endpoints of the mix, by the names --mix and the report use, and the routes they stand for. */
export const READ_ENDPOINTS = ['status', 'result', 'list', 'presets'] as const;
export type ReadEndpoint = (typeof READ_ENDPOINTS)[number];

export const ENDPOINTS = ['submit', ...READ_ENDPOINTS] as const;
export type Endpoint = (typeof ENDPOINTS)[number];

export const ROUTES: Readonly<Record<Endpoint, string>> = {
  submit: 'POST /pipeline/run',
  status: 'GET /pipeline/{id}',
  result: 'GET /pipeline/{id}/result',
  list: 'GET /jobs',
  presets: 'GET /presets',
};

export const isRead = (endpoint: Endpoint): endpoint is ReadEndpoint =>
  (READ_ENDPOINTS as readonly string[]).includes(endpoint);
