import { UserError } from '../cli/errors.js';

const validId = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const MAX_ID_LENGTH = 1024;

/** Refuses an id that could escape the state root or confuse engines, before any file is touched. */
export function checkContainerId(id: string): string {
  if (id === '') throw new UserError('container id must not be empty');
  if (id.length > MAX_ID_LENGTH) throw new UserError(`container id is longer than ${MAX_ID_LENGTH} characters`);
  if (!validId.test(id) || id === '.' || id === '..' || id.includes('..')) {
    throw new UserError(
      `invalid container id ${JSON.stringify(id)}: use letters, digits, "_", "." and "-", starting with a letter or digit, and no ".."`,
    );
  }
  return id;
}
