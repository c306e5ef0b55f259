import { http } from '@google-cloud/functions-framework';
import { runPipeline } from '../../shared/api/pipeline-run';
import { createApp } from '../../shared/http/app';

http('pipeline-run', createApp('pipeline-run', runPipeline));
