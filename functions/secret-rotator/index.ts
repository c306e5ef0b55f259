import { cloudEvent } from '@google-cloud/functions-framework';
import { onSecretRotation } from '../../shared/secrets/rotation/handler';

cloudEvent('secret-rotator', onSecretRotation);
