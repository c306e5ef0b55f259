import { http } from '@google-cloud/functions-framework';
import { supportBugCreate } from '../../shared/api/support';
import { createApp } from '../../shared/http/app';

http('support-bug-create', createApp('support-bug-create', supportBugCreate));
