export { gcsObjectStore, RESUMABLE_THRESHOLD_BYTES } from './gcs';
export { assertBucketName, assertObjectKey, InvalidObjectNameError } from './keys';
export { localObjectStore, type LocalObjectStore, type LocalObjectStoreOptions } from './local';
export { localStorageHandler } from './local-handler';
export { MAX_SIGNED_URL_TTL_SECONDS, ObjectNotFoundError, type ObjectStore } from './object-store';
export { STORAGE_PATH_PREFIX } from './signed-path';
