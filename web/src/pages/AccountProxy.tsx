import { Badge, Button, Group, PasswordInput, Stack, Text, Tooltip } from '@mantine/core';
import { useState } from 'react';
import type { Schemas } from '../api/client';

type Account = Schemas['AccountDto'];

/**
 * The account's egress on the Accounts page (issue 25 item 1): its proxy as scheme://host:port (the URL with its
 * credential is never sent back by the server), a flag when other accounts leave through the same endpoint, and a
 * field to set or remove it. A new URL is sent as typed and forgotten by the page once saved.
 */
export function AccountProxy({
  a,
  name,
  names,
  save,
  saving,
}: {
  a: Account;
  name: string;
  /** Display names of the other accounts, by id (for the shared-endpoint flag). */
  names: Map<string, string>;
  save: (proxyUrl: string | null) => void;
  saving: boolean;
}) {
  const [draft, setDraft] = useState('');
  const p = a.proxy;
  const shared = p.sharedWith.map((id) => names.get(id) ?? id.slice(0, 8));
  return (
    <Stack gap={4} maw={260} data-testid="account-proxy" data-via={p.via}>
      {p.via === 'proxy' ? (
        <Text size="xs" ff="monospace">
          {p.endpoint}
        </Text>
      ) : (
        <Text size="xs" c="gray.7">
          {p.via === 'environment' ? 'Gateway default (HTTPS_PROXY)' : 'Direct'}
        </Text>
      )}
      {shared.length > 0 && (
        <Tooltip label={`Also used by: ${shared.join(', ')}`} withinPortal>
          <Badge size="xs" color="orange" variant="light" data-testid="proxy-shared">
            Shared with {shared.length} other account{shared.length === 1 ? '' : 's'}
          </Badge>
        </Tooltip>
      )}
      <Group gap={4} wrap="nowrap">
        <PasswordInput
          size="xs"
          aria-label={`${name} proxy URL`}
          placeholder="socks5://user:pass@host:port"
          value={draft}
          onChange={(e) => setDraft(e.currentTarget.value)}
          autoComplete="off"
          style={{ flex: 1 }}
        />
        <Button
          size="compact-xs"
          disabled={!draft.trim() || saving}
          onClick={() => {
            save(draft.trim());
            setDraft('');
          }}
        >
          Set
        </Button>
      </Group>
      {p.via === 'proxy' && (
        <Button size="compact-xs" variant="subtle" color="red" w="fit-content" onClick={() => save(null)}>
          Remove proxy
        </Button>
      )}
    </Stack>
  );
}
