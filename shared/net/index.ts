export { assertPublicAddress } from './address-policy';
export { describeBytes, FetchError, type FetchErrorCode } from './errors';
export { serveInput, type InputSource, type ServedInput } from './input-server';
export { openOrigin, type OriginOptions } from './origin';
export { postPinned, type PostAnswer, type PostOptions } from './post';
export { checkUrlShape, redactUrl } from './url-policy';
