import { http } from '@google-cloud/functions-framework';
import { health } from '../../shared/api/health';
import { createApp } from '../../shared/http/app';

http('health', createApp('health', health));
