import {
  Button,
  Code,
  Group,
  Paper,
  ScrollArea,
  Select,
  SimpleGrid,
  Stack,
  Table,
  Text,
  TextInput,
} from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api, unwrap } from '../api/client';
import { Empty, ErrorState, Loading, PageTitle } from '../components/ui';
import { dateTime } from '../format';

const TARGETS = ['account', 'key', 'user', 'setting'];

export function AuditPage() {
  const [action, setAction] = useState('');
  const [actorId, setActorId] = useState<string | null>(null);
  const [targetType, setTargetType] = useState<string | null>(null);
  const [debounced] = useDebouncedValue(action, 300);
  const users = useQuery({
    queryKey: ['users'],
    queryFn: () => unwrap(api.GET('/admin/api/users')),
  });
  const filters = {
    ...(debounced ? { action: debounced } : {}),
    ...(actorId ? { actorId } : {}),
    ...(targetType ? { targetType } : {}),
  };
  const q = useInfiniteQuery({
    queryKey: ['audit', filters],
    initialPageParam: undefined as number | undefined,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET('/admin/api/audit', {
          params: { query: { ...filters, limit: 50, ...(pageParam ? { before: pageParam } : {}) } },
        }),
      ),
    getNextPageParam: (last) => last.next ?? undefined,
  });
  const rows = q.data?.pages.flatMap((p) => p.data) ?? [];
  return (
    <Stack>
      <PageTitle title="Audit log" />
      <Paper withBorder p="sm" radius="md">
        <SimpleGrid cols={{ base: 1, xs: 3 }}>
          <TextInput
            label="Action starts with"
            placeholder="e.g. key. or account.delete"
            value={action}
            onChange={(e) => setAction(e.currentTarget.value)}
          />
          <Select
            label="Who"
            placeholder="Anyone"
            data={(users.data?.data ?? []).map((u) => ({ value: u.id, label: u.email }))}
            value={actorId}
            onChange={setActorId}
            clearable
            searchable
          />
          <Select
            label="Target"
            placeholder="Any target"
            data={TARGETS}
            value={targetType}
            onChange={setTargetType}
            clearable
          />
        </SimpleGrid>
      </Paper>
      {q.isPending ? (
        <Loading what="the audit log" />
      ) : q.isError ? (
        <ErrorState error={q.error} retry={() => void q.refetch()} />
      ) : rows.length === 0 ? (
        <Empty title="Nothing recorded for these filters">
          <Text size="sm">Changes to accounts, keys, users and settings, and sign-ins, are listed here.</Text>
        </Empty>
      ) : (
        <>
          <ScrollArea type="auto" viewportProps={{ tabIndex: 0 }}>
            <Table striped verticalSpacing="xs" miw={800} aria-label="Audit log">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>When</Table.Th>
                  <Table.Th>Who</Table.Th>
                  <Table.Th>Action</Table.Th>
                  <Table.Th>Target</Table.Th>
                  <Table.Th>Details</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {rows.map((r) => (
                  <Table.Tr key={r.id} data-testid="audit-row">
                    <Table.Td>
                      <Text size="sm">{dateTime(r.createdAt)}</Text>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">{r.actorEmail ?? r.actorType}</Text>
                      {r.actorType === 'key' && (
                        <Text size="xs" c="gray.7">
                          with an admin key
                        </Text>
                      )}
                    </Table.Td>
                    <Table.Td>
                      <Code>{r.action}</Code>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">
                        {r.targetType ?? '—'} {r.targetId ? <Code>{r.targetId.slice(0, 8)}</Code> : null}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <Text size="xs" ff="monospace" style={{ wordBreak: 'break-word' }} maw={360}>
                        {r.details ? JSON.stringify(r.details) : ''}
                      </Text>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </ScrollArea>
          {q.hasNextPage && (
            <Group>
              <Button variant="default" onClick={() => void q.fetchNextPage()} loading={q.isFetchingNextPage}>
                Load older entries
              </Button>
            </Group>
          )}
        </>
      )}
    </Stack>
  );
}
