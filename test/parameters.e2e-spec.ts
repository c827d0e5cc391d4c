import { useFakeGateway } from './support/scenario.js';

/**
 * The parameter table end to end (issue 10 defects 4 and 10): unknown and refused fields never reach the upstream,
 * refusals name the parameter, `include` is always the CLI's, and encrypted reasoning comes back to /v1/responses
 * clients so they can replay it with store:false.
 */
const s = useFakeGateway(1, { LOG_LEVEL: 'debug' });

const last = () => s.fake.requestsTo('/backend-api/codex/responses').at(-1)!;
const post = (path: string, body: unknown) =>
  fetch(`${s.gw.url}/v1/${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('/v1/responses fields', () => {
  it('seed, arbitrary include values and vendor extras never go upstream (debug-logged)', async () => {
    const r = await post('responses', {
      model: 'gpt-5.5',
      input: 'hi',
      seed: 42,
      include: ['web_search_call.results', 'reasoning.encrypted_content'],
      top_k: 5,
      service_tier: 'auto',
      store: true,
    });
    expect(r.status).toBe(200);
    const body = last().body;
    for (const k of ['seed', 'top_k', 'service_tier']) expect(body).not.toHaveProperty(k);
    expect(body.include).toEqual(['reasoning.encrypted_content']);
    expect(body.store).toBe(false);
    const line = s.gw.logs.json().find((l) => l.msg === 'dropped client parameters (see docs/parameters.md)');
    expect(line?.dropped).toEqual(
      expect.arrayContaining(['seed', 'top_k', 'include:web_search_call.results']),
    );
  });

  it.each([
    ['conversation', { conversation: 'conv_123' }],
    ['prompt', { prompt: { id: 'pmpt_1' } }],
    ['background', { background: true }],
    ['service_tier', { service_tier: 'scale' }],
    ['include', { include: ['message.output_text.logprobs'] }],
  ])('refuses %s with a 400 naming it, before any upstream call', async (param, extra) => {
    const r = await post('responses', { model: 'gpt-5.5', input: 'hi', ...extra });
    expect(r.status).toBe(400);
    expect(((await r.json()) as any).error).toMatchObject({ param, type: 'invalid_request_error' });
    expect(s.fake.requestsTo('/backend-api/codex/responses')).toHaveLength(0);
  });

  it('service_tier priority is forwarded as the CLI sends it (Fast mode)', async () => {
    await post('responses', { model: 'gpt-5.5', input: 'hi', service_tier: 'priority' });
    expect(last().body.service_tier).toBe('priority');
  });

  it('include is always ["reasoning.encrypted_content"], even without reasoning options', async () => {
    await s.client.responses.create({ model: 'gpt-5.5', input: 'plain' });
    expect(last().body.include).toEqual(['reasoning.encrypted_content']);
  });

  it('returns encrypted reasoning (stream and not) and accepts it replayed with store:false', async () => {
    s.fake.respondWith({ text: 'answer', reasoningSummary: 'thinking' });
    const r = await s.client.responses.create({ model: 'gpt-5.5', input: 'think' });
    const reasoning = r.output.find((i) => i.type === 'reasoning') as any;
    expect(reasoning.encrypted_content).toMatch(/^gAAAA/);

    s.fake.respondWith({ text: 'answer', reasoningSummary: 'thinking' });
    const stream = await s.client.responses.create({ model: 'gpt-5.5', input: 'think', stream: true });
    let streamed: any;
    for await (const ev of stream)
      if (ev.type === 'response.output_item.done' && ev.item.type === 'reasoning') streamed = ev.item;
    expect(streamed.encrypted_content).toMatch(/^gAAAA/);

    const replay = await s.client.responses.create({
      model: 'gpt-5.5',
      store: false,
      input: [
        { role: 'user', content: 'think' },
        reasoning,
        { role: 'assistant', content: 'answer' } as any,
        { role: 'user', content: 'and again' },
      ],
    });
    expect(replay.output_text).toContain('and again');
    expect(last().body.input[1]).toMatchObject({
      type: 'reasoning',
      encrypted_content: reasoning.encrypted_content,
    });
  });
});

describe('/v1/chat/completions fields (same table)', () => {
  it('drops seed and vendor extras, forwards service_tier priority, refuses n>1 naming it', async () => {
    const r = await post('chat/completions', {
      model: 'gpt-5.5',
      messages: [{ role: 'user', content: 'hi' }],
      seed: 1,
      top_k: 3,
      service_tier: 'priority',
    });
    expect(r.status).toBe(200);
    expect(last().body).not.toHaveProperty('seed');
    expect(last().body).not.toHaveProperty('top_k');
    expect(last().body.service_tier).toBe('priority');
    expect(last().body.include).toEqual(['reasoning.encrypted_content']);
    const bad = await post('chat/completions', {
      model: 'gpt-5.5',
      messages: [{ role: 'user', content: 'hi' }],
      n: 2,
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.param).toBe('n');
  });
});
