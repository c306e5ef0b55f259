import { http } from '@google-cloud/functions-framework';
import { webhooksList } from '../../shared/api/webhooks';
import { createApp } from '../../shared/http/app';

http('webhooks-list', createApp('webhooks-list', webhooksList));
