import { http } from '@google-cloud/functions-framework';
import { webhookTest } from '../../shared/api/webhook-test';
import { createApp } from '../../shared/http/app';

http('webhook-test', createApp('webhook-test', webhookTest));
