/**
 * Device identity per account (issue 25 item 2; docs/security.md "Account safety"). The Codex CLI identifies its
 * installation in the body's `client_metadata` (`x-codex-installation-id`, with the thread's `session_id`,
 * `thread_id` and `x-codex-window-id`) [capture: shared/research/codex-cli-captures.md §6]. The gateway sends the
 * account's own installation id (accounts.installationId: random per account, stable, stored with it), so N
 * accounts never look like one device and one account never sees a new device per team member. A client's own
 * `client_metadata` is dropped in normalisation (upstream/params.ts) and never forwarded; what goes up is built here.
 */
export interface DeviceIdentity {
  installationId: string;
  threadId: string;
}

/** The client_metadata the gateway can fill truthfully, in the CLI's key order. */
export function clientMetadata(id: DeviceIdentity): Record<string, string> {
  return {
    thread_id: id.threadId,
    session_id: id.threadId,
    'x-codex-window-id': `${id.threadId}:0`,
    'x-codex-installation-id': id.installationId,
  };
}

/**
 * The serialised request body with this account's `client_metadata` as its last key (where the CLI puts it), without
 * parsing the body again. A body that is not a JSON object (never built by the gateway) is returned unchanged.
 */
export function withDeviceIdentity(payload: string, id: DeviceIdentity): string {
  const end = payload.lastIndexOf('}');
  if (!payload.startsWith('{') || end < 0) return payload;
  const head = payload.slice(0, end).trimEnd();
  const sep = head === '{' ? '' : ',';
  return `${head}${sep}"client_metadata":${JSON.stringify(clientMetadata(id))}}`;
}
