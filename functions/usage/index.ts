import { http } from '@google-cloud/functions-framework';
import { usage } from '../../shared/api/usage';
import { createApp } from '../../shared/http/app';

http('usage', createApp('usage', usage));
