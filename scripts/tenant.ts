/**
 * `npm run tenant -- set --tenant <name> --tier <free|pro|enterprise>`
 * `npm run tenant -- add-user --tenant <name> --uid <uid>`
 * `npm run tenant -- remove-user --uid <uid>`
 * `npm run tenant -- bugs [--status <open|acknowledged|resolved>]`
 * `npm run tenant -- bug --id <report id> [--status <open|acknowledged|resolved>] [--comment <text>]`
 * Operators' side of tenants: tiers, the Identity Platform users that sign in to a tenant, and
 * problem reports (read one, move its status, answer in its thread).
 */
import { parseArgs } from 'node:util';
import { Tier, TIERS } from '../shared/auth/api-keys';
import { addTenantUser, removeTenantUser, setTenantTier, UID_FORMAT } from '../shared/auth/tenants';
import { bugReportForOperator, recentBugReports, updateBugReport, type OperatorBug } from '../shared/support/operator';
import { BUG_LIMITS } from '../shared/support/requests';
import { BUG_STATUSES, type BugStatus } from '../shared/support/views';
import { withDatabase } from './with-database';

const USAGE = [
  'usage: npm run tenant -- set --tenant <name> --tier <free|pro|enterprise>',
  '       npm run tenant -- add-user --tenant <name> --uid <uid>',
  '       npm run tenant -- remove-user --uid <uid>',
  '       npm run tenant -- bugs [--status <open|acknowledged|resolved>]',
  '       npm run tenant -- bug --id <report id> [--status <open|acknowledged|resolved>] [--comment <text>]',
].join('\n');

/** Reports `bugs` prints, newest first. */
const LISTED_REPORTS = 100;

function fail(message: string): never {
  console.error(`tenant: ${message}\n${USAGE}`);
  process.exit(2);
}

interface Options {
  tenant?: string;
  tier?: string;
  uid?: string;
  id?: string;
  status?: string;
  comment?: string;
}

function tenantName(values: Options): string {
  const tenant = values.tenant?.trim();
  if (!tenant || !/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}$/.test(tenant))
    fail('--tenant is required (letters, digits, space . _ -)');
  return tenant;
}

function uid(values: Options): string {
  if (!values.uid || !UID_FORMAT.test(values.uid)) fail('--uid is required (1 to 128 visible ASCII characters)');
  return values.uid;
}

function status(values: Options): BugStatus | undefined {
  if (values.status === undefined) return undefined;
  if (!BUG_STATUSES.includes(values.status as BugStatus)) fail(`--status must be one of ${BUG_STATUSES.join(', ')}`);
  return values.status as BugStatus;
}

function comment(values: Options): string | undefined {
  if (values.comment === undefined) return undefined;
  const text = values.comment.trim();
  if (text === '' || text.length > BUG_LIMITS.comment) fail(`--comment must be 1 to ${BUG_LIMITS.comment} characters`);
  return text;
}

function printReport(bug: OperatorBug): void {
  console.log(`report ${bug.id} of tenant ${bug.tenant}: ${bug.status}`);
  console.log(`title: ${bug.title}`);
  console.log(`job: ${bug.job_id ?? '-'}; created ${bug.created_at}, updated ${bug.updated_at}`);
  if (bug.environment) console.log(`environment: ${bug.environment}`);
  console.log(bug.description);
  bug.steps.forEach((step, i) => console.log(`  step ${i + 1}: ${step}`));
  for (const c of bug.comments) console.log(`[${c.created_at}] ${c.author}: ${c.body}`);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      tenant: { type: 'string' },
      tier: { type: 'string' },
      uid: { type: 'string' },
      id: { type: 'string' },
      status: { type: 'string' },
      comment: { type: 'string' },
    },
  });
  const command = positionals[0];
  if (positionals.length > 1) fail(`unexpected argument ${positionals[1]}`);

  switch (command) {
    case 'set': {
      const name = tenantName(values);
      if (!TIERS.includes(values.tier as Tier)) fail(`--tier must be one of ${TIERS.join(', ')}`);
      const { tenant, previousTier } = await withDatabase((k) => setTenantTier(k, name, values.tier as Tier));
      console.log(`tenant ${tenant.name} (${tenant.id}): tier ${previousTier} -> ${tenant.tier}`);
      return;
    }
    case 'add-user': {
      const name = tenantName(values);
      const user = uid(values);
      const { tenant, added } = await withDatabase((k) => addTenantUser(k, name, user));
      console.log(`user ${user} ${added ? 'now signs in to' : 'already signs in to'} tenant ${tenant.name}`);
      return;
    }
    case 'remove-user': {
      const user = uid(values);
      const removed = await withDatabase((k) => removeTenantUser(k, user));
      if (!removed) throw new Error(`user ${user} belongs to no tenant`);
      console.log(`user ${user} removed; its API tokens no longer work`);
      return;
    }
    case 'bugs': {
      const wanted = status(values);
      const reports = await withDatabase((k) => recentBugReports(k, { status: wanted, limit: LISTED_REPORTS }));
      for (const r of reports) console.log(`${r.id}  ${r.status.padEnd(12)}  ${r.created_at}  ${r.tenant}  ${r.title}`);
      if (reports.length === 0) console.log('no reports');
      return;
    }
    case 'bug': {
      const id = values.id;
      if (!id || !/^[0-9a-f-]{36}$/i.test(id)) fail('--id needs a report id (a UUID)');
      const change = { status: status(values), comment: comment(values) };
      const changes = change.status !== undefined || change.comment !== undefined;
      printReport(await withDatabase((k) => (changes ? updateBugReport(k, id, change) : bugReportForOperator(k, id))));
      return;
    }
    default:
      fail(command ? `unknown command ${command}` : 'a command is required');
  }
}

main().catch((err) => {
  console.error(`tenant: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
