import { http } from '@google-cloud/functions-framework';
import { createBatch } from '../../shared/api/batches';
import { createApp } from '../../shared/http/app';

http('pipeline-batch-create', createApp('pipeline-batch-create', createBatch));
