/**
 * Identity Platform (Firebase Auth) ID tokens, verified as Google documents it: RS256, signed by
 * one of Google's published keys, issuer `https://securetoken.google.com/<project>`, audience
 * `<project>`, not expired, issued and authenticated in the past, and a non-empty subject (the
 * user's uid). Nothing here trusts a claim before the signature is checked.
 */
import type { JWTPayload } from 'jose';
import { UnauthenticatedError, UnavailableError } from '../errors';

export interface IdTokenSettings {
  /** The Identity Platform project: the token's audience and the last part of its issuer. */
  project: string;
  /** Where Google publishes its signing keys (a JSON Web Key Set). */
  jwksUrl: string;
}

export interface VerifiedUser {
  uid: string;
}

/** Google's and this instance's clocks differ a little; a few seconds either way are forgiven. */
const CLOCK_TOLERANCE_SECONDS = 5;
/** Firebase's own limit on a uid. */
const MAX_UID_LENGTH = 128;
/** A caller retries after this long when Google's keys could not be fetched. */
const KEYS_RETRY_AFTER_SECONDS = 5;

/** jose, loaded with the first token to check: the function's cold start does not wait for it. */
const jose = (): typeof import('jose') => require('jose') as typeof import('jose');

type KeySet = ReturnType<typeof import('jose').createRemoteJWKSet>;
const keySets = new Map<string, KeySet>();

/**
 * One key set per URL for the life of the instance: jose keeps the keys for ten minutes and
 * fetches them again sooner only for a key id it does not know (Google publishes a new key
 * before signing with it), at most once every 30 seconds, so made-up key ids cannot make every
 * request fetch.
 */
function keySet(url: string): KeySet {
  let set = keySets.get(url);
  if (!set) {
    set = jose().createRemoteJWKSet(new URL(url));
    keySets.set(url, set);
  }
  return set;
}

/** What jose throws for a token that is not good, as opposed to keys that could not be had. */
function isTokenFault(err: unknown): boolean {
  const { errors } = jose();
  return [
    errors.JWSInvalid,
    errors.JWTInvalid,
    errors.JWSSignatureVerificationFailed,
    errors.JWTClaimValidationFailed,
    errors.JOSEAlgNotAllowed,
    errors.JOSENotSupported,
    errors.JWKSNoMatchingKey,
    errors.JWKSMultipleMatchingKeys,
  ].some((fault) => err instanceof fault);
}

const invalid = (message: string) => new UnauthenticatedError('invalid_token', message);

function checkTimes(payload: JWTPayload & { auth_time?: unknown }): void {
  const latest = Math.floor(Date.now() / 1000) + CLOCK_TOLERANCE_SECONDS;
  if (typeof payload.iat !== 'number' || payload.iat > latest) throw invalid('The ID token is issued in the future.');
  if (typeof payload.auth_time !== 'number' || payload.auth_time > latest)
    throw invalid('The ID token has no past auth_time.');
}

/**
 * The user an ID token names, or UnauthenticatedError (`token_expired`, `invalid_token`);
 * UnavailableError (`identity_unavailable`) when Google's keys cannot be fetched, which says
 * nothing about the token.
 */
export async function verifyIdToken(token: string, settings: IdTokenSettings): Promise<VerifiedUser> {
  let payload: JWTPayload & { auth_time?: unknown };
  try {
    ({ payload } = await jose().jwtVerify(token, keySet(settings.jwksUrl), {
      algorithms: ['RS256'],
      issuer: `https://securetoken.google.com/${settings.project}`,
      audience: settings.project,
      requiredClaims: ['exp', 'iat', 'auth_time', 'sub'],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    }));
  } catch (err) {
    if (err instanceof jose().errors.JWTExpired) {
      throw new UnauthenticatedError('token_expired', 'The ID token has expired; sign in again for a fresh one.');
    }
    if (isTokenFault(err)) {
      throw invalid('The ID token is not a valid Identity Platform token of this project.');
    }
    throw new UnavailableError(
      'identity_unavailable',
      "Google's signing keys could not be fetched to check the ID token; retry shortly.",
      KEYS_RETRY_AFTER_SECONDS,
    );
  }
  checkTimes(payload);
  const uid = payload.sub;
  if (typeof uid !== 'string' || uid === '' || uid.length > MAX_UID_LENGTH)
    throw invalid('The ID token names no user.');
  return { uid };
}
