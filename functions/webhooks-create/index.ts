import { http } from '@google-cloud/functions-framework';
import { webhooksCreate } from '../../shared/api/webhooks';
import { createApp } from '../../shared/http/app';

http('webhooks-create', createApp('webhooks-create', webhooksCreate));
