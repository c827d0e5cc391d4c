import { BarChart } from '@mantine/charts';
import {
  Button,
  Paper,
  ScrollArea,
  SegmentedControl,
  SimpleGrid,
  Stack,
  Table,
  Text,
  Title,
} from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { api, unwrap, type Schemas } from '../api/client';
import { useSession } from '../session';
import { Empty, ErrorState, Loading, PageTitle } from '../components/ui';
import { limitsText } from '../components/limits';
import { queryKeys, useServedModels } from '../queries';
import { compact, dateTime, num } from '../format';
import { ClientSnippets } from './KeySnippets';
import { Stat } from './Overview';

type Corner = Schemas['CornerDto'];
const RANGES = [
  { value: '7', label: '7 days' },
  { value: '30', label: '30 days' },
  { value: '90', label: '90 days' },
];

/** /me: the signed-in person's own usage, limits, what is left, and keys. */
export function CornerPage() {
  return <CornerView userId={null} />;
}

/** /users/:id/usage: an admin opens any user's corner (the server refuses members: 403 not_your_usage). */
export function UserUsagePage() {
  const { id } = useParams();
  return <CornerView userId={id ?? null} />;
}

function CornerView({ userId }: { userId: string | null }) {
  const session = useSession();
  const [days, setDays] = useState('30');
  const own = !userId || userId === session.user.id;
  const q = useQuery({
    queryKey: queryKeys.corner(userId, Number(days)),
    queryFn: () =>
      unwrap(
        api.GET('/admin/api/me/usage', {
          params: { query: { days: Number(days), ...(userId ? { userId } : {}) } },
        }),
      ),
    refetchInterval: 30_000,
  });
  const title = own ? 'My corner' : `Usage of ${q.data?.user.email ?? 'a user'}`;
  return (
    <Stack>
      <PageTitle title={title}>
        {own && session.canManageKeys && (
          <Button component={Link} to="/keys">
            Create a key
          </Button>
        )}
        {!own && (
          <Button component={Link} to="/users" variant="default">
            Back to users
          </Button>
        )}
      </PageTitle>
      <SegmentedControl aria-label="Time range" data={RANGES} value={days} onChange={setDays} />
      {q.isPending ? (
        <Loading what="usage" />
      ) : q.isError ? (
        <ErrorState error={q.error} retry={() => void q.refetch()} />
      ) : (
        <CornerBody c={q.data} own={own} />
      )}
    </Stack>
  );
}

const budgetHint = (b: Corner['today']) =>
  b.quota === null ? 'no quota' : `${compact(b.leftTokens ?? 0)} left of ${compact(b.quota)}`;

function CornerBody({ c, own }: { c: Corner; own: boolean }) {
  const session = useSession();
  const served = useServedModels();
  const points = c.byDay.map((d) => ({
    day: new Date(`${d.day}T00:00:00Z`).toLocaleDateString('en-GB', { day: '2-digit', month: 'short' }),
    Tokens: d.tokens,
    Requests: d.requests,
  }));
  return (
    <>
      <Title order={2} size="h3">
        Limits and what is left
      </Title>
      <SimpleGrid cols={{ base: 1, xs: 2, md: 4 }}>
        <Stat label="Tokens today (UTC)" value={compact(c.today.usedTokens)} hint={budgetHint(c.today)} />
        <Stat
          label="Tokens this month"
          value={compact(c.thisMonth.usedTokens)}
          hint={budgetHint(c.thisMonth)}
        />
        <Stat
          label={`Requests, last ${c.days} days`}
          value={num(c.totals.requests)}
          hint={`${num(c.totals.errors)} errors`}
        />
        <Stat
          label="Your limits"
          value={c.limits.rpm || c.limits.tpm ? 'Rate limited' : 'No rate limit'}
          hint={limitsText(c.limits)}
        />
      </SimpleGrid>
      {c.byDay.length === 0 ? (
        <Empty title={`No requests in the last ${c.days} days`}>
          <Text size="sm">Requests made with {own ? 'your' : 'their'} keys show up here within seconds.</Text>
        </Empty>
      ) : (
        <Paper withBorder p="md" radius="md">
          <Title order={2} size="h4" mb="sm" id="chart-corner-day">
            Tokens per day
          </Title>
          <BarChart
            h={220}
            data={points}
            dataKey="day"
            withLegend
            aria-labelledby="chart-corner-day"
            valueFormatter={compact}
            series={[{ name: 'Tokens', color: 'blue.7' }]}
          />
        </Paper>
      )}
      <SimpleGrid cols={{ base: 1, lg: 2 }}>
        <UsageTable
          label="Usage by model"
          head="Model"
          rows={c.byModel.map((m) => ({ ...m, id: m.model, name: m.model }))}
        />
        <UsageTable
          label="Usage by key"
          head="Key"
          rows={c.byKey.map((k) => ({
            ...k,
            id: k.keyId ?? 'none',
            name: k.name ? `${k.name} (${k.prefix}…)` : k.prefix ? `${k.prefix}…` : 'no key',
          }))}
        />
      </SimpleGrid>
      <Title order={2} size="h3">
        {own ? 'My keys' : 'Keys'}
      </Title>
      {c.keys.length === 0 ? (
        <Empty title="No active keys">
          <Text size="sm">
            {own && session.canManageKeys
              ? 'Create a key to use the gateway from your tools.'
              : 'Keys are handed out by an admin.'}
          </Text>
        </Empty>
      ) : (
        <ScrollArea type="auto" viewportProps={{ tabIndex: 0, 'aria-label': 'Keys table' }}>
          <Table striped verticalSpacing="xs" miw={640} aria-label="Keys and their budgets">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Key</Table.Th>
                <Table.Th ta="right">Today</Table.Th>
                <Table.Th ta="right">This month</Table.Th>
                <Table.Th>Key limits</Table.Th>
                <Table.Th>Last used</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {c.keys.map((k) => (
                <Table.Tr key={k.id} data-testid="corner-key">
                  <Table.Td>
                    <Text size="sm" fw={600}>
                      {k.name || 'unnamed'}
                    </Text>
                    <Text size="xs" ff="monospace">
                      {k.prefix}…
                    </Text>
                  </Table.Td>
                  <Table.Td ta="right">
                    <Text size="sm">{compact(k.usage.tokensToday)}</Text>
                    {k.leftToday !== null && <Text size="xs">{compact(k.leftToday)} left</Text>}
                  </Table.Td>
                  <Table.Td ta="right">
                    <Text size="sm">{compact(k.usage.tokensThisMonth)}</Text>
                    {k.leftThisMonth !== null && <Text size="xs">{compact(k.leftThisMonth)} left</Text>}
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">{limitsText(k.limits)}</Text>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">{dateTime(k.lastUsedAt)}</Text>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </ScrollArea>
      )}
      {own && (
        <Paper withBorder p="md" radius="md">
          <Title order={2} size="h4" mb="xs">
            Use a key from your tools
          </Title>
          <Text size="sm" mb="sm">
            Put your key where the snippets say <code>sk-cg-YOUR-KEY</code> (the gateway shows a key only
            once, when it is made). The full request log is on <Link to="/usage">My usage</Link>.
          </Text>
          <ClientSnippets
            keyValue="sk-cg-YOUR-KEY"
            baseUrl={session.publicUrl}
            model={served[0] ?? 'gpt-5.5'}
          />
        </Paper>
      )}
    </>
  );
}

function UsageTable({
  label,
  head,
  rows,
}: {
  label: string;
  head: string;
  rows: { id: string; name: string; requests: number; errors: number; tokens: number }[];
}) {
  return (
    <Paper withBorder p="md" radius="md">
      <Title order={2} size="h4" mb="sm">
        {label}
      </Title>
      {rows.length === 0 ? (
        <Text size="sm">Nothing in this range.</Text>
      ) : (
        <Table verticalSpacing="xs" aria-label={label}>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{head}</Table.Th>
              <Table.Th ta="right">Requests</Table.Th>
              <Table.Th ta="right">Tokens</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((r) => (
              <Table.Tr key={r.id}>
                <Table.Td style={{ wordBreak: 'break-word' }}>
                  <Text size="sm">{r.name}</Text>
                </Table.Td>
                <Table.Td ta="right">
                  <Text size="sm">
                    {num(r.requests)}
                    {r.errors ? ` (${num(r.errors)} errors)` : ''}
                  </Text>
                </Table.Td>
                <Table.Td ta="right">
                  <Text size="sm">{compact(r.tokens)}</Text>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Paper>
  );
}
