import { http } from '@google-cloud/functions-framework';
import { webhookEnable } from '../../shared/api/webhooks';
import { createApp } from '../../shared/http/app';

http('webhook-enable', createApp('webhook-enable', webhookEnable));
