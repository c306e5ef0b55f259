/** `npm run migrate`: brings the database (DATABASE_URL, or the embedded one) to the latest schema. */
import { withDatabase } from './with-database';

withDatabase(async () => undefined).then(
  () => console.log('database is at the latest migration'),
  (err) => {
    console.error(`migrate: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
