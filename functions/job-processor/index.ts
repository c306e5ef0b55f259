import { cloudEvent } from '@google-cloud/functions-framework';
import { onPipelineJob } from '../../shared/jobs/handlers';

cloudEvent('job-processor', onPipelineJob);
