import { http } from '@google-cloud/functions-framework';
import { batchResults } from '../../shared/api/batches';
import { createApp } from '../../shared/http/app';

http('pipeline-batch-results', createApp('pipeline-batch-results', batchResults));
