export { gcsObjectStore, RESUMABLE_THRESHOLD_BYTES } from './gcs';
export { assertBucketName, assertObjectKey, InvalidObjectNameError } from './keys';
export {
  localObjectStore,
  ObjectExistsError,
  ObjectSizeError,
  type LocalObjectStore,
  type LocalObjectStoreOptions,
} from './local';
export { localStorageHandler } from './local-handler';
export type { ReceiveOptions, StoredUpload } from './local-upload';
export {
  MAX_SIGNED_URL_TTL_SECONDS,
  ObjectNotFoundError,
  type ObjectStore,
  type SignedUpload,
  type UploadTerms,
} from './object-store';
export { STORAGE_PATH_PREFIX } from './signed-path';
