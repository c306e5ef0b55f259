import { http } from '@google-cloud/functions-framework';
import { jobsList } from '../../shared/api/jobs-list';
import { createApp } from '../../shared/http/app';

http('jobs-list', createApp('jobs-list', jobsList));
