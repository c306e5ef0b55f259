/** Every HTTP function's operation doc, by its manifest name: a test fails when one is missing or left over. */
import type { OperationDoc } from '../operation';
import { accountOperations } from './account';
import { batchOperations } from './batches';
import { jobOperations } from './jobs';
import { platformOperations } from './platform';
import { supportOperations } from './support';
import { webhookOperations } from './webhooks';

export const OPERATIONS: Readonly<Record<string, OperationDoc>> = {
  ...jobOperations,
  ...batchOperations,
  ...webhookOperations,
  ...accountOperations,
  ...supportOperations,
  ...platformOperations,
};
