import { http } from '@google-cloud/functions-framework';
import { webhookDeliveryRetry } from '../../shared/api/webhook-delivery-retry';
import { createApp } from '../../shared/http/app';

http('webhook-delivery-retry', createApp('webhook-delivery-retry', webhookDeliveryRetry));
