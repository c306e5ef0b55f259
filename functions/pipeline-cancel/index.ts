import { http } from '@google-cloud/functions-framework';
import { pipelineCancel } from '../../shared/api/pipeline-cancel';
import { createApp } from '../../shared/http/app';

http('pipeline-cancel', createApp('pipeline-cancel', pipelineCancel));
