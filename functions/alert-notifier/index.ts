import { cloudEvent } from '@google-cloud/functions-framework';
import { onMonitoringAlert } from '../../shared/alerts/handler';

cloudEvent('alert-notifier', onMonitoringAlert);
