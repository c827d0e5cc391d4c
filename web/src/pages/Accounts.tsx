import {
  ActionIcon,
  Badge,
  Button,
  Menu,
  NumberInput,
  ScrollArea,
  Stack,
  Switch,
  Table,
  Text,
  VisuallyHidden,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useSearchParams } from 'react-router';
import { api, messageOf, unwrap, type Schemas } from '../api/client';
import { useConfirm } from '../components/confirm';
import { Empty, ErrorState, HeadroomBar, Loading, PageTitle, type Window } from '../components/ui';
import { queryKeys } from '../queries';
import { compact, dateTime, num, relative } from '../format';
import { AccountLimitsModal, limitsSummary } from './AccountLimits';
import { AddAccountModal } from './AddAccount';
import { StateBadge } from './Overview';
import { AccountProxy } from './AccountProxy';

type Account = Schemas['AccountDto'];

function windows(a: Account): { short: Window | null; long: Window | null } {
  // The pool's usage state (polled from wham/usage, fed by every answer) first; else the last answer's snapshot.
  if (a.usage && a.usage.windows.length) {
    const of = (kind: string): Window | null => {
      const x = a.usage!.windows.find((w) => w.kind === kind);
      return x
        ? {
            usedPercent: x.usedPercent,
            windowMinutes: Math.round(x.windowSeconds / 60),
            resetsAt: x.resetsAt,
            asOf: x.asOf,
          }
        : null;
    };
    return { short: of('short'), long: of('weekly') };
  }
  const s = (a.usageSnapshot ?? null) as { short?: any; long?: any } | null;
  const w = (x: any): Window | null =>
    x && typeof x.usedPercent === 'number'
      ? {
          usedPercent: x.usedPercent,
          windowMinutes: x.windowMinutes ?? null,
          resetsAt: typeof x.resetsAt === 'number' ? new Date(x.resetsAt).toISOString() : null,
        }
      : null;
  return { short: w(s?.short), long: w(s?.long) };
}

function stateOf(a: Account) {
  if (!a.enabled) return 'disabled' as const;
  if (a.status === 'needs_reauth') return 'needs_reauth' as const;
  if (a.status !== 'active') return 'unusable' as const; // deactivated, proxy_unreachable: named below
  if (a.cooldownUntil && Date.parse(a.cooldownUntil) > Date.now()) return 'cooling_down' as const;
  return 'healthy' as const;
}

/** The cause in words, since when, and the fix (accounts/health-cause.ts on the server). */
function AccountCause({ a }: { a: Account }) {
  const h = a.health;
  if (h.cause === 'active' || h.cause === 'disabled') return null;
  return (
    <Stack gap={0} maw={260} data-testid="account-cause" data-cause={h.cause}>
      <Text size="xs">{h.message}</Text>
      {h.since && (
        <Text size="xs" c="gray.7">
          since {dateTime(h.since)}
        </Text>
      )}
      {h.fix && (
        <Text size="xs" fw={600}>
          Fix: {h.fix}
        </Text>
      )}
    </Stack>
  );
}

/** Answers the backend served with another model than asked for (gateway/served-model.ts on the server). */
function Downgrades({ a }: { a: Account }) {
  const list = a.downgrades ?? [];
  if (!list.length) return null;
  return (
    <Stack gap={0} maw={260} data-testid="account-downgrades">
      <Text size="xs" fw={600} c="red.9">
        Served another model
      </Text>
      {list.map((d) => (
        <Text size="xs" key={`${d.requested}>${d.served}`}>
          {d.served} for {d.requested}: {num(d.count)}×{d.lastAt ? `, last ${relative(d.lastAt)}` : ''}
        </Text>
      ))}
    </Stack>
  );
}

export function AccountsPage() {
  const qc = useQueryClient();
  const [params, setParams] = useSearchParams();
  const [adding, setAdding] = useState(params.has('add') || params.has('reauth'));
  const [limitsOf, setLimitsOf] = useState<string | null>(null);
  const { askItem, dialog } = useConfirm();
  const q = useQuery({
    queryKey: queryKeys.accounts,
    queryFn: () => unwrap(api.GET('/admin/api/accounts')),
    // Every few seconds while an account's usage is still unknown (the worker reads it within seconds of adding).
    refetchInterval: (query) =>
      query.state.data?.data.some((a) => a.enabled && a.status === 'active' && !a.usage?.windows.length)
        ? 3000
        : 30_000,
  });
  const reauth = params.get('reauth');
  const reauthLabel = q.data?.data.find((a) => a.id === reauth)?.label ?? null;
  const refreshAll = () => {
    void qc.invalidateQueries({ queryKey: queryKeys.accounts });
    void qc.invalidateQueries({ queryKey: queryKeys.overview });
  };
  const onError = (err: unknown) =>
    notifications.show({ color: 'red', title: 'Failed', message: messageOf(err) });
  const patch = useMutation({
    mutationFn: (v: {
      id: string;
      body: {
        enabled?: boolean;
        priority?: number;
        reservePercent?: number;
        maxConcurrent?: number | null;
        proxyUrl?: string | null;
      };
    }) => unwrap(api.PATCH('/admin/api/accounts/{id}', { params: { path: { id: v.id } }, body: v.body })),
    onSuccess: refreshAll,
    onError,
  });
  const refresh = useMutation({
    mutationFn: (id: string) =>
      unwrap(api.POST('/admin/api/accounts/{id}/refresh', { params: { path: { id } } })),
    onSuccess: (a) => {
      notifications.show({ color: 'teal', message: `Token refreshed for ${a.label || a.email}.` });
      refreshAll();
    },
    onError,
  });
  const remove = useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE('/admin/api/accounts/{id}', { params: { path: { id } } })),
    onSuccess: refreshAll,
    onError,
  });
  const openAdd = () => setAdding(true);
  const closeAdd = () => {
    setAdding(false);
    if (params.has('add') || params.has('reauth')) setParams({}, { replace: true });
  };

  return (
    <Stack>
      <PageTitle title="Accounts">
        <Button onClick={openAdd}>Add account</Button>
      </PageTitle>
      <AddAccountModal
        opened={adding}
        onClose={closeAdd}
        reauthOf={reauth ? (reauthLabel ?? 'account') : null}
        reauthId={reauth}
      />
      {dialog}
      <AccountLimitsModal
        account={q.data?.data.find((a) => a.id === limitsOf) ?? null}
        onClose={() => setLimitsOf(null)}
      />
      {q.isPending ? (
        <Loading what="accounts" />
      ) : q.isError ? (
        <ErrorState error={q.error} retry={() => void q.refetch()} />
      ) : q.data.data.length === 0 ? (
        <Empty title="No subscription accounts yet">
          <Text size="sm">
            Add a ChatGPT/Codex subscription by browser login, device code or an auth.json from the Codex CLI.
          </Text>
          <Button onClick={openAdd}>Add account</Button>
        </Empty>
      ) : (
        <ScrollArea type="auto" viewportProps={{ tabIndex: 0 }}>
          <Table striped highlightOnHover verticalSpacing="sm" miw={1580} aria-label="Subscription accounts">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Account</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>Token</Table.Th>
                <Table.Th w={260}>Egress proxy</Table.Th>
                <Table.Th w={220}>Headroom</Table.Th>
                <Table.Th>Today</Table.Th>
                <Table.Th>Enabled</Table.Th>
                <Table.Th w={110}>Priority</Table.Th>
                <Table.Th w={170}>Reserve and cap</Table.Th>
                <Table.Th>
                  <VisuallyHidden>Actions</VisuallyHidden>
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {q.data.data.map((a, _i, all) => {
                const w = windows(a);
                const name = a.label || a.email || a.id.slice(0, 8);
                return (
                  <Table.Tr key={a.id} data-testid="account-row">
                    <Table.Td>
                      <Text fw={600} size="sm">
                        {name}
                      </Text>
                      <Text size="xs" c="gray.7">
                        {a.email ?? '—'}
                      </Text>
                      <Badge size="xs" variant="outline" color="gray.8">
                        {a.planType ?? 'plan unknown'}
                      </Badge>
                    </Table.Td>
                    <Table.Td>
                      <StateBadge state={stateOf(a)} until={a.cooldownUntil} />
                      <AccountCause a={a} />
                      <Downgrades a={a} />
                      {a.lastError && (
                        <Text size="xs" c="red.9" maw={220}>
                          {a.lastError}
                        </Text>
                      )}
                    </Table.Td>
                    <Table.Td>
                      <Text size="xs">Expires {relative(a.accessTokenExpiresAt)}</Text>
                      <Text size="xs" c="gray.7">
                        Refreshed {a.lastRefreshAt ? dateTime(a.lastRefreshAt) : 'never'}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <AccountProxy
                        a={a}
                        name={name}
                        names={new Map(all.map((x) => [x.id, x.label || x.email || x.id.slice(0, 8)]))}
                        saving={patch.isPending}
                        save={(proxyUrl) => patch.mutate({ id: a.id, body: { proxyUrl } })}
                      />
                    </Table.Td>
                    <Table.Td>
                      <Stack gap={6}>
                        <HeadroomBar label="5-hour" w={w.short} />
                        <HeadroomBar label="Weekly" w={w.long} />
                      </Stack>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">{num(a.today.requests)} req</Text>
                      <Text size="xs" c="gray.7">
                        {compact(a.today.tokens)} tokens
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <Switch
                        checked={a.enabled}
                        aria-label={`${name} enabled`}
                        onChange={(e) =>
                          patch.mutate({ id: a.id, body: { enabled: e.currentTarget.checked } })
                        }
                      />
                    </Table.Td>
                    <Table.Td>
                      <NumberInput
                        size="xs"
                        aria-label={`${name} priority`}
                        defaultValue={a.priority}
                        min={-1000}
                        max={1000}
                        onBlur={(e) => {
                          const v = Number(e.currentTarget.value);
                          if (Number.isInteger(v) && v !== a.priority)
                            patch.mutate({ id: a.id, body: { priority: v } });
                        }}
                      />
                    </Table.Td>
                    <Table.Td>
                      <Stack gap={4} align="flex-start">
                        <Text size="xs" data-testid="account-limits">
                          {limitsSummary(a)}
                        </Text>
                        <Button
                          size="compact-xs"
                          variant="default"
                          aria-label={`Edit reserve and cap of ${name}`}
                          onClick={() => setLimitsOf(a.id)}
                        >
                          Edit…
                        </Button>
                      </Stack>
                    </Table.Td>
                    <Table.Td>
                      <Menu position="bottom-end" withinPortal>
                        <Menu.Target>
                          <ActionIcon variant="default" aria-label={`Actions for ${name}`}>
                            ⋯
                          </ActionIcon>
                        </Menu.Target>
                        <Menu.Dropdown>
                          <Menu.Item onClick={() => refresh.mutate(a.id)}>Refresh token now</Menu.Item>
                          <Menu.Item
                            onClick={() => {
                              setParams({ reauth: a.id }, { replace: true });
                              openAdd();
                            }}
                          >
                            Log in again (re-authenticate)
                          </Menu.Item>
                          <Menu.Divider />
                          {askItem(
                            'Delete…',
                            'Delete account',
                            `Delete ${name}? Its tokens are revoked and the pool stops using it. Keys keep working with the other accounts.`,
                            'Delete account',
                            () => remove.mutate(a.id),
                          )}
                        </Menu.Dropdown>
                      </Menu>
                    </Table.Td>
                  </Table.Tr>
                );
              })}
            </Table.Tbody>
          </Table>
        </ScrollArea>
      )}
    </Stack>
  );
}
