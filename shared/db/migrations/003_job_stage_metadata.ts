import type { Knex } from 'knex';

/** Where a job is in its run, in the order it goes through them (shared/jobs/stages.ts). */
const STAGES = ['queued', 'fetching', 'voice', 'music', 'mixing', 'encoding', 'storing', 'done'];

/**
 * Jobs gain:
 * - `metadata`: the partner's own string values, echoed back and never read by the pipeline;
 * - `stage`: where the job is in its run, written beside `progress` by whoever holds the lease;
 * - `event_seq`: the row's version as partners see it, one up on every change of status, progress
 *   or stage, whoever makes it (a trigger, so no writer can forget). The event stream numbers its
 *   events from it, which is what lets a client resume without repeats.
 *
 * Jobs from before keep the earliest stage they are known to have reached: `done` when they
 * completed, `fetching` once started, `queued` otherwise.
 */
export async function up(k: Knex): Promise<void> {
  await k.schema.alterTable('jobs', (t) => {
    t.jsonb('metadata').notNullable().defaultTo(k.raw("'{}'::jsonb"));
    t.text('stage').notNullable().defaultTo('queued').checkIn(STAGES, 'jobs_stage_check');
    t.integer('event_seq').notNullable().defaultTo(0);
  });
  await k.raw(
    `UPDATE jobs SET stage = CASE WHEN status = 'COMPLETED' THEN 'done'
                                  WHEN started_at IS NOT NULL THEN 'fetching'
                                  ELSE 'queued' END`,
  );
  await k.raw(`
    CREATE FUNCTION jobs_event_seq() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.event_seq := OLD.event_seq
        + CASE WHEN (NEW.status, NEW.progress, NEW.stage) IS DISTINCT FROM (OLD.status, OLD.progress, OLD.stage)
               THEN 1 ELSE 0 END;
      RETURN NEW;
    END
    $$`);
  await k.raw('CREATE TRIGGER jobs_event_seq BEFORE UPDATE ON jobs FOR EACH ROW EXECUTE FUNCTION jobs_event_seq()');
}

export async function down(k: Knex): Promise<void> {
  await k.raw('DROP TRIGGER IF EXISTS jobs_event_seq ON jobs');
  await k.raw('DROP FUNCTION IF EXISTS jobs_event_seq()');
  await k.schema.alterTable('jobs', (t) => {
    t.dropColumn('event_seq');
    t.dropColumn('stage');
    t.dropColumn('metadata');
  });
}
