import { Paper, ScrollArea, SegmentedControl, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api, unwrap } from '../api/client';
import { queryKeys } from '../queries';
import { compact, num, usd } from '../format';
import { ErrorState, Loading } from './ui';
import { TextCell } from './TextCell';

const GROUPS = [
  { value: 'user', label: 'Per user' },
  { value: 'key', label: 'Per key' },
  { value: 'model', label: 'Per model' },
  { value: 'account', label: 'Per account' },
] as const;
type Group = (typeof GROUPS)[number]['value'];

/**
 * Equivalent metered-API cost of a range (issue 28 item 1), grouped by user, key, model or account, from the
 * costs recorded per usage row when it was written (GET /admin/api/usage). Admins only; the range's other
 * filters do not apply here.
 */
export function CostTable({ from, to }: { from: string; to: string }) {
  const [group, setGroup] = useState<Group>('user');
  const q = useQuery({
    queryKey: queryKeys.usageCost({ group, from, to }),
    queryFn: () => unwrap(api.GET('/admin/api/usage', { params: { query: { group_by: group, from, to } } })),
    refetchInterval: 30_000,
  });
  const rows = [...(q.data?.data ?? [])].sort((a, b) => b.cost_usd - a.cost_usd);
  const total = rows.reduce((s, r) => s + r.cost_usd, 0);
  const unpriced = rows.reduce((s, r) => s + r.unpriced_requests, 0);
  return (
    <Paper withBorder p="md" radius="md" role="region" aria-label="Equivalent cost">
      <Stack gap="sm">
        <Title order={2} size="h4">
          Equivalent API cost:{' '}
          <span data-testid="cost-total">{q.data ? usd(Math.round(total * 1e6) / 1e6) : '…'}</span>
        </Title>
        <Text size="xs" c="gray.7">
          What the same requests would have cost on the metered API, at the prices in force when each was made
          {unpriced > 0 ? `; ${num(unpriced)} requests had no price and count as nothing` : ''}. The range
          applies; the other filters do not.
        </Text>
        <SegmentedControl
          aria-label="Group cost by"
          data={GROUPS.map((g) => ({ value: g.value, label: g.label }))}
          value={group}
          onChange={(v) => setGroup(v as Group)}
        />
        {q.isPending ? (
          <Loading what="costs" />
        ) : q.isError ? (
          <ErrorState error={q.error} retry={() => void q.refetch()} />
        ) : rows.length === 0 ? (
          <Text size="sm">No requests in this range.</Text>
        ) : (
          <ScrollArea type="auto" viewportProps={{ tabIndex: 0 }}>
            <Table
              striped
              verticalSpacing="xs"
              miw={560}
              aria-label={`Cost ${GROUPS.find((g) => g.value === group)!.label.toLowerCase()}`}
            >
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{group[0].toUpperCase() + group.slice(1)}</Table.Th>
                  <Table.Th ta="right">Requests</Table.Th>
                  <Table.Th ta="right">Tokens (cached)</Table.Th>
                  <Table.Th ta="right">Equivalent cost</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {rows.map((r) => (
                  <Table.Tr key={r.group ?? 'none'} data-testid="cost-row">
                    <TextCell>{r.label ?? (r.group ? r.group : 'none (refused before an account)')}</TextCell>
                    <TextCell right>{num(r.requests)}</TextCell>
                    <TextCell right>
                      {compact(r.total_tokens)} ({compact(r.cached_tokens)})
                    </TextCell>
                    <TextCell right testId="cost-value">
                      {r.requests === r.unpriced_requests ? 'no price' : usd(r.cost_usd)}
                    </TextCell>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </ScrollArea>
        )}
      </Stack>
    </Paper>
  );
}
