import { AreaChart, BarChart } from '@mantine/charts';
import {
  Badge,
  Button,
  Paper,
  ScrollArea,
  SegmentedControl,
  Select,
  SimpleGrid,
  Stack,
  Table,
  Text,
  Title,
} from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { api, unwrap } from '../api/client';
import { useSession } from '../session';
import { Empty, ErrorState, Loading, PageTitle } from '../components/ui';
import { UserPicker } from '../components/UserPicker';
import { queryKeys } from '../queries';
import { compact, dateTime, num, usd } from '../format';
import { CostTable } from '../components/CostTable';
import { TextCell } from '../components/TextCell';

const RANGES = [
  { value: '1h', label: '1 hour', ms: 3600_000 },
  { value: '24h', label: '24 hours', ms: 86400_000 },
  { value: '7d', label: '7 days', ms: 7 * 86400_000 },
  { value: '30d', label: '30 days', ms: 30 * 86400_000 },
];

export function UsagePage() {
  const session = useSession();
  const admin = session.user.role === 'admin';
  const [range, setRange] = useState('24h');
  const [keyId, setKeyId] = useState<string | null>(null);
  const [userId, setUserId] = useState<string | null>(null);
  const [accountId, setAccountId] = useState<string | null>(null);
  const [model, setModel] = useState<string | null>(null);
  // The window is fixed when the filters change (not on every render), so query keys stay stable.
  const window = useMemo(() => {
    const to = new Date(Date.now() + 60_000);
    const ms = RANGES.find((r) => r.value === range)!.ms;
    return { from: new Date(to.getTime() - ms).toISOString(), to: to.toISOString() };
  }, [range]);
  const filters = {
    ...window,
    ...(keyId ? { keyId } : {}),
    ...(userId ? { userId } : {}),
    ...(accountId ? { accountId } : {}),
    ...(model ? { model } : {}),
  };
  const series = useQuery({
    queryKey: queryKeys.usageSeries(filters),
    queryFn: () => unwrap(api.GET('/admin/api/usage/series', { params: { query: filters } })),
    refetchInterval: 30_000,
  });
  const latest = useQuery({
    queryKey: queryKeys.usageRequests(filters),
    queryFn: () =>
      unwrap(api.GET('/admin/api/usage/requests', { params: { query: { ...filters, limit: 50 } } })),
    refetchInterval: 30_000,
  });
  const keys = useQuery({
    queryKey: queryKeys.keys.of(null),
    enabled: session.canManageKeys,
    queryFn: () => unwrap(api.GET('/admin/api/keys')),
  });
  const accounts = useQuery({
    queryKey: queryKeys.accounts,
    enabled: admin,
    queryFn: () => unwrap(api.GET('/admin/api/accounts')),
  });
  const csvHref = `/admin/api/usage/export.csv?${new URLSearchParams(filters)}`;
  const bucket = series.data?.bucket ?? 'hour';
  const fmtT = (t: string) =>
    new Date(t).toLocaleString(
      'en-GB',
      bucket === 'day' ? { day: '2-digit', month: 'short' } : { hour: '2-digit', minute: '2-digit' },
    );
  const points = (series.data?.data ?? []).map((p) => ({
    t: fmtT(p.t),
    Requests: p.requests - p.errors,
    Errors: p.errors,
    Input: p.inputTokens - p.cachedTokens,
    Cached: p.cachedTokens,
    Output: p.outputTokens - p.reasoningTokens,
    Reasoning: p.reasoningTokens,
  }));

  return (
    <Stack>
      <PageTitle title={admin ? 'Usage' : 'My usage'}>
        <Button component="a" href={csvHref} download variant="default">
          Export CSV
        </Button>
      </PageTitle>
      <Paper withBorder p="sm" radius="md">
        <Stack gap="sm">
          <SegmentedControl
            aria-label="Time range"
            data={RANGES.map((r) => ({ value: r.value, label: r.label }))}
            value={range}
            onChange={setRange}
          />
          <SimpleGrid cols={{ base: 1, xs: 2, md: 4 }}>
            {session.canManageKeys && (
              <Select
                label="Key"
                placeholder="All keys"
                data={(keys.data?.data ?? []).map((k) => ({
                  value: k.id,
                  label: `${k.name || 'unnamed'} (${k.prefix}…)`,
                }))}
                value={keyId}
                onChange={setKeyId}
                clearable
                searchable
              />
            )}
            {admin && (
              <UserPicker
                label="User"
                placeholder="All users"
                value={userId}
                onChange={setUserId}
                clearable
              />
            )}
            {admin && (
              <Select
                label="Account"
                placeholder="All accounts"
                data={(accounts.data?.data ?? []).map((a) => ({
                  value: a.id,
                  label: a.label || a.email || a.id,
                }))}
                value={accountId}
                onChange={setAccountId}
                clearable
                searchable
              />
            )}
            <Select
              label="Model"
              placeholder="All models"
              data={series.data?.models ?? []}
              value={model}
              onChange={setModel}
              clearable
              searchable
            />
          </SimpleGrid>
        </Stack>
      </Paper>
      {series.isPending ? (
        <Loading what="usage" />
      ) : series.isError ? (
        <ErrorState error={series.error} retry={() => void series.refetch()} />
      ) : (
        <>
          <SimpleGrid cols={{ base: 1, xs: 3 }}>
            <Paper withBorder p="md" radius="md">
              <Text size="sm" c="gray.7">
                Requests
              </Text>
              <Text fw={700} fz="xl" data-testid="usage-requests-total">
                {num(series.data.totals.requests)}
              </Text>
            </Paper>
            <Paper withBorder p="md" radius="md">
              <Text size="sm" c="gray.7">
                Errors
              </Text>
              <Text fw={700} fz="xl">
                {num(series.data.totals.errors)}
              </Text>
            </Paper>
            <Paper withBorder p="md" radius="md">
              <Text size="sm" c="gray.7">
                Tokens
              </Text>
              <Text fw={700} fz="xl">
                {compact(series.data.totals.tokens)}
              </Text>
            </Paper>
          </SimpleGrid>
          {points.length === 0 ? (
            <Empty title="No requests in this range">
              <Text size="sm">
                Use a key with any OpenAI SDK (base URL <code>{session.publicUrl}/v1</code>); requests show up
                here within seconds. Try a longer range or fewer filters.
              </Text>
            </Empty>
          ) : (
            <SimpleGrid cols={{ base: 1, lg: 2 }}>
              <Paper withBorder p="md" radius="md">
                <Title order={2} size="h4" mb="sm" id="chart-requests">
                  Requests per {bucket}
                </Title>
                <BarChart
                  h={220}
                  data={points}
                  dataKey="t"
                  type="stacked"
                  withLegend
                  aria-labelledby="chart-requests"
                  series={[
                    { name: 'Requests', color: 'blue.7' },
                    { name: 'Errors', color: 'red.7' },
                  ]}
                />
              </Paper>
              <Paper withBorder p="md" radius="md">
                <Title order={2} size="h4" mb="sm" id="chart-tokens">
                  Tokens per {bucket}, by kind
                </Title>
                <AreaChart
                  h={220}
                  data={points}
                  dataKey="t"
                  type="stacked"
                  withLegend
                  aria-labelledby="chart-tokens"
                  valueFormatter={compact}
                  series={[
                    { name: 'Input', color: 'blue.6' },
                    { name: 'Cached', color: 'cyan.6' },
                    { name: 'Output', color: 'teal.6' },
                    { name: 'Reasoning', color: 'grape.6' },
                  ]}
                />
              </Paper>
            </SimpleGrid>
          )}
        </>
      )}
      {admin && <CostTable from={window.from} to={window.to} />}
      <Title order={2} size="h3">
        Latest requests
      </Title>
      {latest.isPending ? (
        <Loading what="requests" />
      ) : latest.isError ? (
        <ErrorState error={latest.error} retry={() => void latest.refetch()} />
      ) : latest.data.data.length === 0 ? (
        <Text size="sm">No requests in this range.</Text>
      ) : (
        <ScrollArea type="auto" viewportProps={{ tabIndex: 0 }}>
          <Table striped verticalSpacing="xs" miw={1100} aria-label="Latest requests">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Time</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>Model</Table.Th>
                <Table.Th>Endpoint</Table.Th>
                {admin && <Table.Th>User</Table.Th>}
                <Table.Th>Key</Table.Th>
                {admin && <Table.Th>Account</Table.Th>}
                <Table.Th ta="right">Tokens (in / out)</Table.Th>
                <Table.Th ta="right">Cached</Table.Th>
                <Table.Th ta="right">Attempts</Table.Th>
                <Table.Th ta="right">First token</Table.Th>
                <Table.Th ta="right">Latency</Table.Th>
                <Table.Th ta="right">Equivalent cost</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {latest.data.data.map((r) => (
                <Table.Tr key={r.id} data-testid="request-row">
                  <Table.Td>
                    <Text size="sm">{dateTime(r.createdAt)}</Text>
                  </Table.Td>
                  <Table.Td>
                    <Badge color={r.status < 400 ? 'teal' : 'red'} variant="light">
                      {r.status}
                    </Badge>
                    {r.errorClass && (
                      <Text size="xs" c="red.9">
                        {r.errorClass}
                      </Text>
                    )}
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">{r.model}</Text>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm" ff="monospace">
                      {r.endpoint}
                      {r.stream ? ' (stream)' : ''}
                    </Text>
                  </Table.Td>
                  {admin && (
                    <Table.Td>
                      <Text size="sm">{r.userEmail ?? '—'}</Text>
                    </Table.Td>
                  )}
                  <Table.Td>
                    <Text size="sm">{r.keyName || (r.keyPrefix ? `${r.keyPrefix}…` : '—')}</Text>
                  </Table.Td>
                  {admin && (
                    <Table.Td>
                      <Text size="sm">{r.accountLabel ?? '—'}</Text>
                    </Table.Td>
                  )}
                  <Table.Td ta="right">
                    <Text size="sm">
                      {num(r.inputTokens)} / {num(r.outputTokens)}
                    </Text>
                  </Table.Td>
                  <TextCell right testId="request-cached">
                    {num(r.cachedTokens)}
                  </TextCell>
                  <TextCell right testId="request-attempts">
                    {num(r.attempts)}
                  </TextCell>
                  <TextCell right testId="request-ttft">
                    {r.ttfbMs === null ? '—' : `${num(r.ttfbMs)} ms`}
                  </TextCell>
                  <TextCell right>{num(r.durationMs)} ms</TextCell>
                  <TextCell right testId="request-cost">
                    {usd(r.costUsd === null ? null : Number(r.costUsd))}
                  </TextCell>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </ScrollArea>
      )}
    </Stack>
  );
}
