import { cloudEvent } from '@google-cloud/functions-framework';
import { onMaintenanceTick } from '../../shared/jobs/handlers';

cloudEvent('sweeper', onMaintenanceTick);
