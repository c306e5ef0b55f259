import { http } from '@google-cloud/functions-framework';
import { openapi } from '../../shared/api/openapi';
import { createApp } from '../../shared/http/app';

http('openapi', createApp('openapi', openapi));
