import { http } from '@google-cloud/functions-framework';
import { webhookRotateSecret } from '../../shared/api/webhooks';
import { createApp } from '../../shared/http/app';

http('webhook-rotate-secret', createApp('webhook-rotate-secret', webhookRotateSecret));
