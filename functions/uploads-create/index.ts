import { http } from '@google-cloud/functions-framework';
import { uploadsCreate } from '../../shared/api/uploads';
import { createApp } from '../../shared/http/app';

http('uploads-create', createApp('uploads-create', uploadsCreate));
