/**
 * The secret-rotator function's handler: one message of the secret-rotation topic, handled with
 * the process's database pool, secret store and key-encryption key. It throws (so Pub/Sub
 * delivers the message again) only when a rollback could not finish; a rotation rolled back
 * cleanly is done with, its `secret.rotation_failed` event being what calls an operator.
 */
import type { CloudEvent } from '@google-cloud/functions-framework';
import { config } from '../../config';
import { db } from '../../db';
import { logger } from '../../log';
import { keyEncryptionKey, localKeyEncryptionKeyVersions } from '../../platform';
import { manifest } from '../../platform/manifest';
import { secretStore } from '..';
import { readRotationMessage } from './orders';
import { rotateSecrets, type RotationReport } from './rotator';

/** The keys the function watches, as its manifest entry grants them. */
const watched = (): readonly string[] => manifest.find((f) => f.name === 'secret-rotator')?.access.watches ?? [];

export async function onSecretRotation(event: CloudEvent<unknown>): Promise<RotationReport> {
  const c = config();
  const message = readRotationMessage(event);
  const report = await rotateSecrets(
    {
      k: db(),
      store: secretStore(),
      kek: keyEncryptionKey(),
      localKek: localKeyEncryptionKeyVersions(),
      configured: {
        databaseUrl: c.DATABASE_URL,
        replicaUrl: c.DATABASE_REPLICA_URL,
        metricsToken: c.AIPROD_METRICS_TOKEN,
      },
      periodDays: c.AIPROD_ROTATION_PERIOD_DAYS,
      graceSeconds: c.AIPROD_ROTATION_GRACE_SECONDS,
      thirdParty: watched(),
      // The test hook exists only where nothing is deployed.
      failAfter: c.AIPROD_MODE === 'local' ? c.AIPROD_ROTATION_FAIL_STEP : undefined,
    },
    message,
  );
  logger().info(report.dryRun ? 'secret rotation dry run' : 'secret rotation', {
    messageId: message.messageId,
    ...report,
  });
  return report;
}
