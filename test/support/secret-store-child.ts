/**
 * One process of the local stack writing to the local secret store at the same time as others.
 * Arguments: the store's directory, the secret, a label and how many versions to add (each
 * `<label>-<i>`); prints the version numbers it got, as JSON, once it has added them all.
 */
import { localSecretStore } from '../../shared/secrets';

const [dir, secret, label, count] = process.argv.slice(2);

async function main(): Promise<void> {
  const store = localSecretStore(dir!);
  const got: string[] = [];
  for (let i = 0; i < Number(count); i++) got.push((await store.addVersion(secret!, `${label}-${i}`)).version);
  process.stdout.write(JSON.stringify(got));
}

main().catch((err) => {
  process.stderr.write(String(err));
  process.exit(1);
});
