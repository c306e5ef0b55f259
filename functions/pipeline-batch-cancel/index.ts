import { http } from '@google-cloud/functions-framework';
import { batchCancel } from '../../shared/api/batches';
import { createApp } from '../../shared/http/app';

http('pipeline-batch-cancel', createApp('pipeline-batch-cancel', batchCancel));
