/** `npm run manifest`: writes functions/manifest.json, what Terraform reads of the platform's declaration. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { manifest, renderManifestJson } from '../shared/platform/manifest';

const file = join(__dirname, '..', 'functions', 'manifest.json');
writeFileSync(file, renderManifestJson());
console.log(`wrote ${file} (${manifest.length} functions)`);
