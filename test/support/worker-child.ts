/** A job-processor run in its own process, so a test can kill it mid-job with SIGKILL. */
import { db } from '../../shared/db';
import { processJob } from '../../shared/jobs/process';

processJob(db(), process.argv[2]!).then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
