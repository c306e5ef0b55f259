import { http } from '@google-cloud/functions-framework';
import { presets } from '../../shared/api/presets';
import { createApp } from '../../shared/http/app';

http('presets', createApp('presets', presets));
