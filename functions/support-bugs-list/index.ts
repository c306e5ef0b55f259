import { http } from '@google-cloud/functions-framework';
import { supportBugsList } from '../../shared/api/support';
import { createApp } from '../../shared/http/app';

http('support-bugs-list', createApp('support-bugs-list', supportBugsList));
