import { featuresDocument } from '../../spec/features-doc.js';

export function printFeatures(): void {
  process.stdout.write(`${JSON.stringify(featuresDocument(), null, 2)}\n`);
}
