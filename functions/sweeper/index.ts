import { cloudEvent } from '@google-cloud/functions-framework';
import { onMaintenanceTick } from '../../shared/jobs/sweep';

cloudEvent('sweeper', onMaintenanceTick);
