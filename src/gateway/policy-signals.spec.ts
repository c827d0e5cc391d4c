import { classifyUpstream } from '../upstream/classify.js';
import { policyCodeOf, policyRefusal, policySignal } from './policy-signals.js';

describe('policy signals', () => {
  it('names the policy code of an error body wherever the backend puts it', () => {
    expect(policyCodeOf('{"error":{"type":"invalid_request_error","code":"cyber_policy"}}')).toBe(
      'cyber_policy',
    );
    expect(policyCodeOf('{"error":{"type":"content_policy_violation","message":"x"}}')).toBe(
      'content_policy_violation',
    );
    expect(policyCodeOf('{"code":"bio_policy"}')).toBe('bio_policy');
    expect(policyCodeOf('{"error":{"code":"invalid_encrypted_content"}}')).toBeNull();
    expect(policyCodeOf('<html>cyber_policy</html>')).toBeNull();
  });

  it('keeps the 4xx status, never a 401 or 429 (those are about the account)', () => {
    const body = '{"error":{"message":"flagged","type":"invalid_request_error","code":"cyber_policy"}}';
    expect(policyRefusal(classifyUpstream(400, body, {}), body)).toMatchObject({
      httpStatus: 400,
      code: 'cyber_policy',
    });
    expect(policyRefusal(classifyUpstream(403, body, {}), body)).toMatchObject({ httpStatus: 403 });
    expect(policyRefusal(classifyUpstream(500, body, {}), body)).toMatchObject({ httpStatus: 400 });
    expect(policyRefusal(classifyUpstream(429, body, {}), body)).toBeNull();
    expect(policyRefusal(classifyUpstream(401, body, {}), body)).toBeNull();
  });

  it('knows the incomplete content_filter reason and nothing about other client errors', () => {
    expect(policySignal('content_filter')?.evidence).toBe('assumed');
    expect(policySignal('cyber_policy')?.evidence).toBe('verified');
    expect(policySignal('context_length_exceeded')).toBeNull();
    expect(policySignal(null)).toBeNull();
  });
});
