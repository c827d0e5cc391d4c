import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiError } from '../common/errors.js';
import { mapChatRequest } from './to-responses.js';

const fixtures = join(process.cwd(), 'test', 'fixtures', 'chat');
const goldens: { name: string; chat: any; responses: any }[] = JSON.parse(
  readFileSync(join(fixtures, 'requests.json'), 'utf8'),
);
const refused: { name: string; patch: any; param: string; code: string }[] = JSON.parse(
  readFileSync(join(fixtures, 'refused.json'), 'utf8'),
);

describe('mapChatRequest (golden table: Chat request → Responses body)', () => {
  it.each(goldens.map((g) => [g.name, g]))('%s', (_name, g) => {
    expect(mapChatRequest(g.chat, { reasoningContent: true }).body).toEqual(g.responses);
  });

  it('derives stream and include_usage', () => {
    const base = { model: 'm', messages: [{ role: 'user', content: 'x' }] };
    expect(mapChatRequest(base, { reasoningContent: true }).meta).toMatchObject({
      stream: false,
      includeUsage: false,
    });
    expect(
      mapChatRequest(
        { ...base, stream: true, stream_options: { include_usage: true } },
        { reasoningContent: true },
      ).meta,
    ).toMatchObject({ stream: true, includeUsage: true, model: 'm' });
    // include_usage only means something for streams
    expect(
      mapChatRequest({ ...base, stream_options: { include_usage: true } }, { reasoningContent: true }).meta
        .includeUsage,
    ).toBe(false);
  });

  it('does not ask for reasoning summaries when reasoning_content is off', () => {
    const r = mapChatRequest(
      { model: 'm', messages: [{ role: 'user', content: 'x' }] },
      { reasoningContent: false },
    );
    expect(r.body.reasoning).toBeUndefined();
  });
});

describe('mapChatRequest refuses what it cannot honour, naming the parameter', () => {
  const base = { model: 'gpt-5.5', messages: [{ role: 'user', content: 'hi' }] };
  it.each(refused.map((r) => [r.name, r]))('%s', (_name, r) => {
    let err: unknown;
    try {
      mapChatRequest({ ...base, ...r.patch }, { reasoningContent: true });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApiError);
    const body = (err as ApiError).toBody();
    expect((err as ApiError).httpStatus).toBe(400);
    expect(body.error).toMatchObject({ type: 'invalid_request_error', param: r.param, code: r.code });
  });

  it('accepts the ignored parameters at harmless values, and they change nothing in the mapping', () => {
    const mapped = mapChatRequest(
      { ...base, n: 1, logprobs: false, top_logprobs: 0, stop: null, modalities: ['text'] },
      { reasoningContent: true },
    );
    // Reported as dropped (for the log), otherwise the same mapping as without them.
    expect(mapped.dropped).toEqual(['n', 'logprobs', 'top_logprobs', 'modalities']);
    expect({ ...mapped, dropped: [] }).toEqual(mapChatRequest(base, { reasoningContent: true }));
    for (const ignored of ['n', 'logprobs', 'top_logprobs', 'stop', 'modalities'])
      expect(mapped.body).not.toHaveProperty(ignored);
  });
});
