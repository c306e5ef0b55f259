import type { ServerResponse } from 'node:http';

type ProblemStatus = 400 | 403 | 404 | 405 | 409 | 411 | 415 | 416 | 500;

const TITLES: Record<ProblemStatus, string> = {
  400: 'Bad request',
  403: 'Forbidden',
  404: 'Not found',
  405: 'Method not allowed',
  409: 'Conflict',
  411: 'Length required',
  415: 'Unsupported media type',
  416: 'Range not satisfiable',
  500: 'Internal server error',
};

/** The local storage handler's problem+json answers (it runs outside any function's app). */
export function sendProblem(
  res: ServerResponse,
  status: ProblemStatus,
  code: string,
  headers: Record<string, string> = {},
  detail?: string,
): void {
  const body = JSON.stringify({
    type: `https://aiprod.dev/problems/${code}`,
    title: TITLES[status],
    status,
    code,
    ...(detail ? { detail } : {}),
  });
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'application/problem+json',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(body);
}
