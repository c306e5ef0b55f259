export { assertPublicAddress } from './address-policy';
export { downloadToFile, type DownloadOptions, type DownloadResult } from './download';
export { FetchError, type FetchErrorCode } from './errors';
export { postPinned, type PostAnswer, type PostOptions } from './post';
export { checkUrlShape, redactUrl } from './url-policy';
