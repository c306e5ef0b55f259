import { http } from '@google-cloud/functions-framework';
import { pipelineStatus } from '../../shared/api/pipeline-status';
import { createApp } from '../../shared/http/app';

http('pipeline-status', createApp('pipeline-status', pipelineStatus));
