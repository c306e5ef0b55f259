import { http } from '@google-cloud/functions-framework';
import { supportBugGet } from '../../shared/api/support';
import { createApp } from '../../shared/http/app';

http('support-bug-get', createApp('support-bug-get', supportBugGet));
