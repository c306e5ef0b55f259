import { http } from '@google-cloud/functions-framework';
import { webhookDelete } from '../../shared/api/webhooks';
import { createApp } from '../../shared/http/app';

http('webhook-delete', createApp('webhook-delete', webhookDelete));
