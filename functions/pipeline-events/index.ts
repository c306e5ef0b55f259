import { http } from '@google-cloud/functions-framework';
import { pipelineEvents, signedEventsPrincipal } from '../../shared/api/pipeline-events';
import { createApp } from '../../shared/http/app';

http('pipeline-events', createApp('pipeline-events', pipelineEvents, { signed: signedEventsPrincipal }));
