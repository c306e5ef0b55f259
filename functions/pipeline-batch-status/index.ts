import { http } from '@google-cloud/functions-framework';
import { batchStatus } from '../../shared/api/batches';
import { createApp } from '../../shared/http/app';

http('pipeline-batch-status', createApp('pipeline-batch-status', batchStatus));
