import { http } from '@google-cloud/functions-framework';
import { metrics } from '../../shared/api/metrics';
import { createApp } from '../../shared/http/app';

http('metrics', createApp('metrics', metrics));
