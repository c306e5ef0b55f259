import { cloudEvent } from '@google-cloud/functions-framework';
import { onUploadFinalized } from '../../shared/uploads/inspector';

cloudEvent('upload-inspector', onUploadFinalized);
