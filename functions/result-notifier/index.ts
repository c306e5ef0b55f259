import { cloudEvent } from '@google-cloud/functions-framework';
import { onJobResult } from '../../shared/webhooks/handlers';

cloudEvent('result-notifier', onJobResult);
