import { http } from '@google-cloud/functions-framework';
import { webhookDeliveries } from '../../shared/api/webhook-deliveries';
import { createApp } from '../../shared/http/app';

http('webhook-deliveries', createApp('webhook-deliveries', webhookDeliveries));
