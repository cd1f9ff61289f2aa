/** The OCI runtime-spec that ships beside the project (../shared/runtime-spec), and its JSON Schemas. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ValidateFunction } from 'ajv';
import Ajv from 'ajv-draft-04';

export const specDir = join(import.meta.dirname, '..', '..', '..', 'shared', 'runtime-spec');
export const schemaDir = join(specDir, 'schema');

const base = 'https://schema.test/runtime-spec/';

let ajv: Ajv | undefined;

/** A validator for one of the spec's schema files (config-schema.json, state-schema.json, features-schema.json). */
export function specValidator(file: string): ValidateFunction {
  if (ajv === undefined) {
    ajv = new Ajv({ allErrors: true, strict: false });
    for (const name of readdirSync(schemaDir).filter((f) => f.endsWith('.json'))) {
      // defs.json upstream has one reference without its slash ("#definitions/uint32"); mend it here.
      const schema = JSON.parse(readFileSync(join(schemaDir, name), 'utf8').replaceAll('"#definitions/', '"#/definitions/'));
      schema.id = base + name;
      ajv.addSchema(schema);
    }
  }
  const validate = ajv.getSchema(base + file);
  if (!validate) throw new Error(`no schema ${file} in ${schemaDir}`);
  return validate;
}

/** Fixture files of schema/test/<kind>/<good|bad>: [name, text]. */
export function fixtures(kind: 'config' | 'state' | 'features', verdict: 'good' | 'bad'): [string, string][] {
  const dir = join(schemaDir, 'test', kind, verdict);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => [f, readFileSync(join(dir, f), 'utf8')]);
}
