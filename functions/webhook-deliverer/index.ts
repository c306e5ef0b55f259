import { cloudEvent } from '@google-cloud/functions-framework';
import { onJobNotification } from '../../shared/webhooks/handlers';

cloudEvent('webhook-deliverer', onJobNotification);
