import { http } from '@google-cloud/functions-framework';
import { supportBugComment } from '../../shared/api/support';
import { createApp } from '../../shared/http/app';

http('support-bug-comment', createApp('support-bug-comment', supportBugComment));
