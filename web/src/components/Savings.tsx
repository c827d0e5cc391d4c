import { Button, Group, NumberInput, Paper, ScrollArea, Stack, Table, Text, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, messageOf, unwrap, type Schemas } from '../api/client';
import { queryKeys } from '../queries';
import { num, usd } from '../format';
import { ErrorState, Loading } from './ui';
import { TextCell } from './TextCell';

type SavingsAccount = Schemas['SavingsAccountDto'];

/**
 * "What the pool saved" this month (issue 28 item 1): the equivalent metered-API cost of the month's requests
 * against the subscriptions' monthly prices (/admin/api/usage/savings), and each account's price, editable
 * (PUT /admin/api/pricing/accounts/{id}; empty = the plan's default).
 */
export function SavingsPanel() {
  const q = useQuery({
    queryKey: queryKeys.savings,
    queryFn: () => unwrap(api.GET('/admin/api/usage/savings')),
    refetchInterval: 60_000,
  });
  if (q.isPending) return <Loading what="this month's cost" />;
  if (q.isError) return <ErrorState error={q.error} retry={() => void q.refetch()} />;
  const s = q.data;
  const saved = s.saved_usd >= 0;
  return (
    <Paper withBorder p="md" radius="md" role="region" aria-label="What the pool saved">
      <Stack gap="sm">
        <Title order={2} size="h4">
          This month ({s.month}, UTC)
        </Title>
        <Text data-testid="savings-line">
          Equivalent API cost <b data-testid="savings-cost">{usd(s.equivalent_cost_usd)}</b> vs. subscriptions{' '}
          <b data-testid="savings-subscriptions">{usd(s.subscriptions_usd)}</b>:{' '}
          {saved ? 'the pool saved ' : 'the pool cost '}
          <b data-testid="savings-saved">{usd(Math.abs(s.saved_usd))}</b>
          {saved ? '' : ' more than the metered API would have'}.
        </Text>
        {!s.complete && (
          <Text size="xs" c="gray.7">
            Incomplete: {s.unpriced_requests > 0 ? `${num(s.unpriced_requests)} requests had no price; ` : ''}
            accounts without a known monthly price are left out. Set a price below.
          </Text>
        )}
        <ScrollArea type="auto" viewportProps={{ tabIndex: 0 }}>
          <Table verticalSpacing="xs" miw={640} aria-label="Accounts: price and equivalent cost">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Account</Table.Th>
                <Table.Th ta="right">Requests</Table.Th>
                <Table.Th ta="right">Equivalent cost</Table.Th>
                <Table.Th>Monthly price (USD)</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {s.accounts.map((a) => (
                <AccountRow key={a.id} a={a} />
              ))}
            </Table.Tbody>
          </Table>
        </ScrollArea>
      </Stack>
    </Paper>
  );
}

function AccountRow({ a }: { a: SavingsAccount }) {
  const qc = useQueryClient();
  const [draft, setDraft] = useState<number | string>(
    a.monthly_origin === 'account' ? (a.monthly_usd ?? '') : '',
  );
  const valid =
    draft === '' || (typeof draft === 'number' && draft >= 0 && Math.round(draft * 100) === draft * 100);
  const save = useMutation({
    mutationFn: () =>
      unwrap(
        api.PUT('/admin/api/pricing/accounts/{id}', {
          params: { path: { id: a.id } },
          body: { monthly_usd: draft === '' ? null : Number(draft) },
        }),
      ),
    onSuccess: () => {
      notifications.show({ color: 'teal', message: `Price of ${a.label || 'the account'} saved.` });
      void qc.invalidateQueries({ queryKey: queryKeys.savings });
    },
    onError: (err) => notifications.show({ color: 'red', title: 'Failed', message: messageOf(err) }),
  });
  return (
    <Table.Tr data-testid="savings-account">
      <Table.Td>
        <Text size="sm">{a.label || a.id}</Text>
        <Text size="xs" c="gray.7">
          {a.plan ?? 'plan unknown'}
          {a.monthly_origin === 'plan' ? ` · plan default ${usd(a.monthly_usd)}` : ''}
        </Text>
      </Table.Td>
      <TextCell right>{num(a.requests)}</TextCell>
      <TextCell right testId="savings-account-cost">
        {usd(a.equivalent_cost_usd)}
      </TextCell>
      <Table.Td>
        <Group gap="xs" wrap="nowrap">
          <NumberInput
            aria-label={`Monthly price of ${a.label || a.id}`}
            placeholder={a.monthly_origin === 'plan' ? `plan: ${a.monthly_usd}` : 'unknown'}
            min={0}
            decimalScale={2}
            clampBehavior="none"
            w={140}
            value={draft}
            error={valid ? null : 'USD ≥ 0, 2 decimals'}
            onChange={setDraft}
          />
          <Button
            size="xs"
            variant="default"
            disabled={!valid}
            loading={save.isPending}
            onClick={() => save.mutate()}
          >
            Save
          </Button>
        </Group>
      </Table.Td>
    </Table.Tr>
  );
}
