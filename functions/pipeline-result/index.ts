import { http } from '@google-cloud/functions-framework';
import { pipelineResult } from '../../shared/api/pipeline-result';
import { createApp } from '../../shared/http/app';

http('pipeline-result', createApp('pipeline-result', pipelineResult));
