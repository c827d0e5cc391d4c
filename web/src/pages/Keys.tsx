import {
  ActionIcon,
  Badge,
  Button,
  Group,
  Menu,
  Modal,
  ScrollArea,
  Select,
  SimpleGrid,
  Stack,
  Table,
  TagsInput,
  Text,
  TextInput,
  Tooltip,
  VisuallyHidden,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, messageOf, unwrap, type CreatedKey, type KeyView, type UserView } from '../api/client';
import { useSession } from '../session';
import { useConfirm } from '../components/confirm';
import { BudgetSpend, limitsText, useLimitForm } from '../components/limits';
import { Empty, ErrorState, FormActions, Loading, PageTitle } from '../components/ui';
import { UserPicker } from '../components/UserPicker';
import { queryKeys, useServedModels, useUsers } from '../queries';
import { compact, dateTime, relative } from '../format';
import { KeyReveal } from './KeySnippets';

interface KeyForm {
  name: string;
  userId: string | null;
  scope: 'api' | 'admin';
  allowedModels: string[];
  expiresAt: string;
}

/** The model for the snippets: the key's first exact allowed model, else the first the gateway serves. */
function modelFor(k: CreatedKey, served: string[]): string {
  return k.allowedModels.find((m) => !m.includes('*')) ?? served[0] ?? 'gpt-5.5';
}

export function KeysPage() {
  const session = useSession();
  const admin = session.user.role === 'admin';
  const qc = useQueryClient();
  const { askItem, dialog } = useConfirm();
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<KeyView | null>(null);
  const [revealed, setRevealed] = useState<{ key: CreatedKey; model: string } | null>(null);
  const [owner, setOwner] = useState<string | null>(null);
  const keys = useQuery({
    queryKey: queryKeys.keys.of(owner),
    enabled: session.canManageKeys,
    queryFn: () => unwrap(api.GET('/admin/api/keys', { params: { query: owner ? { userId: owner } : {} } })),
  });
  const users = useUsers(admin);
  const invalidate = () => void qc.invalidateQueries({ queryKey: queryKeys.keys.all });
  const onError = (err: unknown) =>
    notifications.show({ color: 'red', title: 'Failed', message: messageOf(err) });
  const served = useServedModels();
  const reveal = (k: CreatedKey) => setRevealed({ key: k, model: modelFor(k, served) });
  const rotate = useMutation({
    mutationFn: (id: string) =>
      unwrap(api.POST('/admin/api/keys/{id}/rotate', { params: { path: { id: id } } })),
    onSuccess: (k) => {
      invalidate();
      reveal(k);
    },
    onError,
  });
  const revoke = useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE('/admin/api/keys/{id}', { params: { path: { id: id } } })),
    onSuccess: () => {
      notifications.show({ color: 'teal', message: 'Key revoked.' });
      invalidate();
    },
    onError,
  });

  const lift = useMutation({
    mutationFn: (id: string) =>
      unwrap(api.POST('/admin/api/keys/{id}/lift-suspension', { params: { path: { id: id } } })),
    onSuccess: () => {
      notifications.show({ color: 'teal', message: 'Suspension lifted: the key works again.' });
      invalidate();
    },
    onError,
  });

  if (!session.canManageKeys)
    return (
      <Stack>
        <PageTitle title="My keys" />
        <Empty title="Keys are handed out by an admin">
          <Text size="sm">
            Members cannot create keys on this gateway. Ask an admin for a key, or to allow members to create
            their own (Users page, “Members may create their own keys”).
          </Text>
        </Empty>
      </Stack>
    );

  return (
    <Stack>
      <PageTitle title={admin ? 'Keys' : 'My keys'}>
        {admin && (
          <UserPicker
            aria-label="Filter by owner"
            placeholder="All owners"
            value={owner}
            onChange={setOwner}
            clearable
            w={220}
          />
        )}
        <Button onClick={() => setCreating(true)}>Create key</Button>
      </PageTitle>
      {dialog}
      <CreateKeyModal
        opened={creating}
        onClose={() => setCreating(false)}
        users={admin ? (users.data?.data ?? []) : null}
        defaultUserId={session.user.id}
        onCreated={(k) => {
          setCreating(false);
          invalidate();
          reveal(k);
        }}
      />
      <Modal
        opened={!!revealed}
        onClose={() => setRevealed(null)}
        title={revealed ? `Your new key: ${revealed.key.name || revealed.key.prefix}` : ''}
        size="lg"
      >
        {revealed && (
          <Stack>
            <KeyReveal keyValue={revealed.key.key} baseUrl={session.publicUrl} model={revealed.model} />
            <Group justify="flex-end">
              <Button onClick={() => setRevealed(null)}>I copied it</Button>
            </Group>
          </Stack>
        )}
      </Modal>
      {editing && <EditKeyModal k={editing} onClose={() => setEditing(null)} onSaved={invalidate} />}
      {keys.isPending ? (
        <Loading what="keys" />
      ) : keys.isError ? (
        <ErrorState error={keys.error} retry={() => void keys.refetch()} />
      ) : keys.data.data.length === 0 ? (
        <Empty title="No keys yet">
          <Text size="sm">
            Create a key and give it to a developer: it works with any OpenAI SDK pointed at this gateway.
          </Text>
          <Button onClick={() => setCreating(true)}>Create key</Button>
        </Empty>
      ) : (
        <ScrollArea type="auto" viewportProps={{ tabIndex: 0 }}>
          <Table striped verticalSpacing="sm" miw={900} aria-label="Keys">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                {admin && <Table.Th>Owner</Table.Th>}
                <Table.Th>Models</Table.Th>
                <Table.Th>Limits</Table.Th>
                <Table.Th>Usage</Table.Th>
                <Table.Th>Last used</Table.Th>
                <Table.Th>
                  <VisuallyHidden>Actions</VisuallyHidden>
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {keys.data.data.map((k) => (
                <Table.Tr key={k.id} data-testid="key-row">
                  <Table.Td>
                    <Text size="sm" fw={600}>
                      {k.name || 'unnamed'}
                    </Text>
                    <Group gap={4}>
                      <Text size="xs" ff="monospace">
                        {k.prefix}…
                      </Text>
                      {k.scope === 'admin' && (
                        <Badge size="xs" color="grape">
                          admin
                        </Badge>
                      )}
                      {k.expiresAt && (
                        <Badge size="xs" color="gray.8" variant="outline">
                          expires {dateTime(k.expiresAt)}
                        </Badge>
                      )}
                      {k.suspendedAt && (
                        <Tooltip
                          label={k.suspendedReason ?? 'content-policy refusals'}
                          withArrow
                          multiline
                          w={280}
                        >
                          <Badge size="xs" color="red" data-testid="key-suspended">
                            suspended {relative(k.suspendedAt)}
                          </Badge>
                        </Tooltip>
                      )}
                    </Group>
                    {k.suspendedAt && (
                      <Stack gap={4} mt={4} align="flex-start">
                        <Text size="xs" c="red.9">
                          Suspended: {k.suspendedReason ?? 'content-policy refusals'}. Requests get 403
                          key_suspended_policy.
                        </Text>
                        {admin && (
                          <Button
                            size="compact-xs"
                            variant="light"
                            color="red"
                            loading={lift.isPending && lift.variables === k.id}
                            onClick={() => lift.mutate(k.id)}
                          >
                            Lift suspension
                          </Button>
                        )}
                      </Stack>
                    )}
                  </Table.Td>
                  {admin && (
                    <Table.Td>
                      <Text size="sm">{k.owner.email}</Text>
                    </Table.Td>
                  )}
                  <Table.Td>
                    <Text size="sm">
                      {k.allowedModels.length ? k.allowedModels.join(', ') : 'All models'}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">{limitsText(k.limits)}</Text>
                    <BudgetSpend spent={k.usage?.spentThisMonthUsd ?? 0} budget={k.limits.monthlyBudgetUsd} />
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">{compact(k.usage?.tokensToday ?? 0)} tokens today</Text>
                    <Text size="xs" c="gray.7">
                      {compact(k.usage?.tokensThisMonth ?? 0)} this month
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">{k.lastUsedAt ? relative(k.lastUsedAt) : 'never'}</Text>
                  </Table.Td>
                  <Table.Td>
                    <Menu position="bottom-end">
                      <Menu.Target>
                        <ActionIcon variant="default" aria-label={`Actions for key ${k.name || k.prefix}`}>
                          ⋯
                        </ActionIcon>
                      </Menu.Target>
                      <Menu.Dropdown>
                        <Menu.Item onClick={() => setEditing(k)}>Edit name and limits</Menu.Item>
                        {askItem(
                          'Rotate…',
                          'Rotate key',
                          `Rotate ${k.name || k.prefix}? A new key with the same settings is shown once; the current one stops working now.`,
                          'Rotate',
                          () => rotate.mutate(k.id),
                          false,
                        )}
                        <Menu.Divider />
                        {askItem(
                          'Revoke…',
                          'Revoke key',
                          `Revoke ${k.name || k.prefix}? Clients using it get 401 within a second. This cannot be undone.`,
                          'Revoke key',
                          () => revoke.mutate(k.id),
                        )}
                      </Menu.Dropdown>
                    </Menu>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </ScrollArea>
      )}
    </Stack>
  );
}

function CreateKeyModal({
  opened,
  onClose,
  users,
  defaultUserId,
  onCreated,
}: {
  opened: boolean;
  onClose: () => void;
  users: UserView[] | null;
  defaultUserId: string;
  onCreated: (k: CreatedKey) => void;
}) {
  const blank: KeyForm = {
    name: '',
    userId: defaultUserId,
    scope: 'api',
    allowedModels: [],
    expiresAt: '',
  };
  const [f, setF] = useState<KeyForm>(blank);
  const limits = useLimitForm();
  const create = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST('/admin/api/keys', {
          body: {
            name: f.name,
            ...(users ? { userId: f.userId ?? defaultUserId, scope: f.scope } : {}),
            allowedModels: f.allowedModels,
            ...limits.limits,
            expiresAt: f.expiresAt ? new Date(f.expiresAt).toISOString() : null,
          },
        }),
      ),
    onSuccess: (k) => {
      setF(blank);
      limits.reset();
      create.reset();
      onCreated(k);
    },
  });
  const owner = users?.find((u) => u.id === f.userId);
  const served = useServedModels();
  return (
    <Modal opened={opened} onClose={onClose} title="Create key" size="lg">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (limits.limits) create.mutate();
        }}
      >
        <Stack gap="sm">
          <TextInput
            label="Name"
            description="What or who uses it, e.g. “ci-bot” or “alice laptop”"
            value={f.name}
            onChange={(e) => setF({ ...f, name: e.currentTarget.value })}
            data-autofocus
          />
          {users && (
            <SimpleGrid cols={{ base: 1, xs: 2 }}>
              <UserPicker
                label="Owner"
                activeOnly
                value={f.userId}
                onChange={(v) => setF({ ...f, userId: v, scope: 'api' })}
                allowDeselect={false}
              />
              <Select
                label="Scope"
                data={[
                  { value: 'api', label: 'API (/v1)' },
                  { value: 'admin', label: 'Admin API too', disabled: owner?.role !== 'admin' },
                ]}
                value={f.scope}
                onChange={(v) => setF({ ...f, scope: (v as 'api' | 'admin') ?? 'api' })}
                allowDeselect={false}
              />
            </SimpleGrid>
          )}
          <TagsInput
            label="Allowed models"
            description="Empty = every model. Exact ids or patterns like gpt-5*; press Enter after each."
            data={served}
            value={f.allowedModels}
            onChange={(v) => setF({ ...f, allowedModels: v })}
          />
          {limits.fields}
          <TextInput
            label="Expires (optional)"
            type="datetime-local"
            value={f.expiresAt}
            onChange={(e) => setF({ ...f, expiresAt: e.currentTarget.value })}
          />
          <FormActions
            error={create.error}
            pending={create.isPending}
            submit="Create key"
            onCancel={onClose}
          />
        </Stack>
      </form>
    </Modal>
  );
}

function EditKeyModal({ k, onClose, onSaved }: { k: KeyView; onClose: () => void; onSaved: () => void }) {
  const [name, setName] = useState(k.name);
  const [models, setModels] = useState(k.allowedModels);
  const limits = useLimitForm(k.limits);
  const save = useMutation({
    mutationFn: () =>
      unwrap(
        api.PATCH('/admin/api/keys/{id}', {
          params: { path: { id: k.id } },
          body: { name, allowedModels: models, ...limits.limits },
        }),
      ),
    onSuccess: () => {
      onSaved();
      onClose();
    },
  });
  return (
    <Modal opened onClose={onClose} title={`Edit key ${k.name || k.prefix}`} size="lg">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (limits.limits) save.mutate();
        }}
      >
        <Stack gap="sm">
          <TextInput label="Name" value={name} onChange={(e) => setName(e.currentTarget.value)} />
          <TagsInput
            label="Allowed models"
            description="Empty = every model"
            value={models}
            onChange={setModels}
          />
          {limits.fields}
          <FormActions error={save.error} pending={save.isPending} submit="Save" onCancel={onClose} />
        </Stack>
      </form>
    </Modal>
  );
}
