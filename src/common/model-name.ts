import { ApiError } from './errors.js';

/**
 * Model names as the gateway accepts them at the edge: 1–128 printable ASCII characters (no spaces, no control
 * characters, no CR/LF, nothing outside Latin-1). Checked before limits, the pool, usage rows or metrics see the
 * name, so a hostile name can neither poison a batch insert nor an upstream header nor a metric label.
 */
const MODEL_NAME = /^[\x21-\x7e]{1,128}$/;

export function isValidModelName(v: unknown): v is string {
  return typeof v === 'string' && MODEL_NAME.test(v);
}

export function assertModelName(v: unknown): asserts v is string {
  if (v === undefined || v === null)
    throw ApiError.badRequest('You must provide a model parameter.', 'model', 'missing_required_parameter');
  if (!isValidModelName(v))
    throw ApiError.badRequest(
      'Invalid model name: use 1-128 printable ASCII characters (letters, digits, . _ : / -).',
      'model',
      'invalid_value',
    );
}
