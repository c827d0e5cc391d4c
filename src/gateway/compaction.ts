import { ApiError } from '../common/errors.js';
import type { UpstreamUsage } from '../upstream/events.js';

/** The JSON answer of `/responses/compact`: `{ output: [...], usage? }`; anything else is the upstream's fault. */
export interface CompactionAnswer {
  output: unknown[];
  usage?: UpstreamUsage;
  [key: string]: unknown;
}

export function parseCompaction(text: string): CompactionAnswer {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw ApiError.badGateway('The upstream answered the compaction with invalid JSON.', 'upstream_error');
  }
  if (!json || typeof json !== 'object' || !Array.isArray((json as CompactionAnswer).output))
    throw ApiError.badGateway('The upstream compaction answer has no output.', 'upstream_error');
  return json as CompactionAnswer;
}

/**
 * What a compaction is charged: the upstream's usage, or without one the input estimate plus the answer (about
 * 4 characters a token), as for streams.
 */
export function compactionUsage(answer: CompactionAnswer, inputEstimate: number): UpstreamUsage {
  if (answer.usage) return answer.usage;
  const output = Math.ceil(JSON.stringify(answer.output).length / 4);
  return { input_tokens: inputEstimate, output_tokens: output, total_tokens: inputEstimate + output };
}
