import { http } from '@google-cloud/functions-framework';
import { webhookGet } from '../../shared/api/webhooks';
import { createApp } from '../../shared/http/app';

http('webhook-get', createApp('webhook-get', webhookGet));
