/**
 * POST /auth/login: an Identity Platform ID token in, an API token of the user's tenant out,
 * valid one hour. The ID token is checked against Google's keys before the database is touched;
 * the API token is an API key with an end (shared/auth/api-keys.ts), stored the same way.
 */
import type { Knex } from 'knex';
import * as z from 'zod';
import { ForbiddenError, ValidationError } from '../errors';
import type { LoginView } from '../openapi/schemas/account';
import { lazySchema } from '../validation/lazy-schema';
import { fieldErrors } from '../validation/zod-errors';
import { issueUserToken } from './api-keys';
import { verifyIdToken, type IdTokenSettings } from './id-token';

/** How long an API token from a login works. */
export const LOGIN_TOKEN_TTL_SECONDS = 3600;

/** Far above a real ID token (about 1 KB), far below the body limit. */
const ID_TOKEN_MAX_LENGTH = 8192;

export const loginSchema = lazySchema(() =>
  z
    .object({
      id_token: z
        .string({ error: 'id_token must be a string.' })
        .min(1, 'id_token must not be empty.')
        .max(ID_TOKEN_MAX_LENGTH, `id_token must be at most ${ID_TOKEN_MAX_LENGTH} characters.`),
    })
    .strict(),
);

/** What POST /auth/login answers: the documented shape (shared/openapi/schemas/account.ts). */
export type LoginAnswer = LoginView;

/**
 * The API token for the body's ID token: ValidationError for a bad body, UnauthenticatedError
 * for a bad or expired ID token, ForbiddenError (`unknown_user`) for a user no tenant has.
 */
export async function login(k: Knex, settings: IdTokenSettings, body: unknown): Promise<LoginAnswer> {
  const parsed = loginSchema().safeParse(body);
  if (!parsed.success) throw new ValidationError(fieldErrors(parsed.error, body));
  const user = await verifyIdToken(parsed.data.id_token, settings);
  const issued = await issueUserToken(k, user.uid, LOGIN_TOKEN_TTL_SECONDS);
  if (!issued) throw new ForbiddenError('unknown_user', 'This user belongs to no AIPROD tenant; ask us to add it.');
  return { token: issued.key, token_type: 'Bearer', expires_at: issued.expiresAt.toISOString(), tenant: issued.tenant };
}
