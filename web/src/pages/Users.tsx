import {
  ActionIcon,
  Badge,
  Button,
  Menu,
  Modal,
  Paper,
  ScrollArea,
  Select,
  Stack,
  Switch,
  Table,
  Text,
  VisuallyHidden,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useNavigate } from 'react-router';
import { api, messageOf, unwrap, type Schemas, type UserView } from '../api/client';
import { CreateUserModal, InviteModal, PasswordConfirmModal, type PasswordAsk } from './UserDialogs';

type IssuedInvite = Schemas['IssuedInviteDto'];
import { useSession } from '../session';
import { useConfirm } from '../components/confirm';
import { limitsText, useLimitForm, UserBudgetSpend } from '../components/limits';
import { Empty, ErrorState, FormActions, Loading, PageTitle } from '../components/ui';
import { queryKeys, useUsers } from '../queries';
import { dateTime } from '../format';

export function UsersPage() {
  const session = useSession();
  const qc = useQueryClient();
  const { askItem, dialog } = useConfirm();
  const [creating, setCreating] = useState(false);
  const [confirming, setConfirming] = useState<PasswordAsk | null>(null);
  const [limiting, setLimiting] = useState<UserView | null>(null);
  const [inviting, setInviting] = useState<{ user: UserView; issued: IssuedInvite | null } | null>(null);
  const navigate = useNavigate();
  const users = useUsers();
  const settings = useQuery({
    queryKey: queryKeys.settings,
    queryFn: () => unwrap(api.GET('/admin/api/settings')),
  });
  const onError = (err: unknown) =>
    notifications.show({ color: 'red', title: 'Failed', message: messageOf(err) });
  const invalidate = () => void qc.invalidateQueries({ queryKey: queryKeys.users });
  const update = useMutation({
    mutationFn: (v: {
      id: string;
      body: Partial<Pick<UserView, 'role' | 'disabled'>> & { currentPassword?: string };
    }) => unwrap(api.PATCH('/admin/api/users/{id}', { params: { path: { id: v.id } }, body: v.body })),
    onSuccess: invalidate,
    onError,
  });
  const removed = () => {
    invalidate();
    void qc.invalidateQueries({ queryKey: queryKeys.keys.all });
  };
  const deleteUser = (id: string, currentPassword?: string) =>
    unwrap(
      api.DELETE('/admin/api/users/{id}', {
        params: { path: { id } },
        ...(currentPassword ? { body: { currentPassword } } : {}),
      }),
    );
  const remove = useMutation({ mutationFn: (id: string) => deleteUser(id), onSuccess: removed, onError });
  const patchUser =
    (id: string, body: { role?: UserView['role']; disabled?: boolean }) => (currentPassword?: string) =>
      unwrap(
        api.PATCH('/admin/api/users/{id}', {
          params: { path: { id } },
          body: { ...body, ...(currentPassword ? { currentPassword } : {}) },
        }),
      );
  const setSetting = useMutation({
    mutationFn: (v: boolean) =>
      unwrap(api.PUT('/admin/api/settings', { body: { members_can_create_keys: v } })),
    onSuccess: (s) => {
      qc.setQueryData(['settings'], s);
      void qc.invalidateQueries({ queryKey: queryKeys.context });
    },
    onError,
  });

  return (
    <Stack>
      <PageTitle title="Users">
        <Button onClick={() => setCreating(true)}>Create user</Button>
      </PageTitle>
      {dialog}
      <PasswordConfirmModal
        ask={confirming}
        onClose={() => setConfirming(null)}
        onDone={() => {
          setConfirming(null);
          removed();
        }}
      />
      {limiting && <UserLimitsModal user={limiting} onClose={() => setLimiting(null)} onSaved={invalidate} />}
      <CreateUserModal
        opened={creating}
        onClose={() => setCreating(false)}
        onCreated={(u, issued) => {
          setCreating(false);
          notifications.show({ color: 'teal', message: `${u.email} created.` });
          invalidate();
          if (issued) setInviting({ user: u, issued });
        }}
      />
      {inviting && (
        <InviteModal user={inviting.user} issued={inviting.issued} onClose={() => setInviting(null)} />
      )}
      <Paper withBorder p="md" radius="md">
        <Switch
          label="Members may create their own keys"
          description="Otherwise only admins hand out keys; members still see their usage."
          checked={settings.data?.members_can_create_keys ?? false}
          disabled={!settings.data}
          onChange={(e) => setSetting.mutate(e.currentTarget.checked)}
        />
      </Paper>
      {users.isPending ? (
        <Loading what="users" />
      ) : users.isError ? (
        <ErrorState error={users.error} retry={() => void users.refetch()} />
      ) : users.data.data.length === 0 ? (
        <Empty title="No users">
          <Button onClick={() => setCreating(true)}>Create user</Button>
        </Empty>
      ) : (
        <ScrollArea type="auto" viewportProps={{ tabIndex: 0 }}>
          <Table striped verticalSpacing="sm" miw={900} aria-label="Users">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>User</Table.Th>
                <Table.Th w={150}>Role</Table.Th>
                <Table.Th>Sign-in</Table.Th>
                <Table.Th>Limits</Table.Th>
                <Table.Th>Active</Table.Th>
                <Table.Th>Created</Table.Th>
                <Table.Th>
                  <VisuallyHidden>Actions</VisuallyHidden>
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {users.data.data.map((u) => {
                const self = u.id === session.user.id;
                // Making someone an admin, or demoting, disabling or deleting another admin, needs your own
                // password (the server asks for it).
                const otherAdmin = !self && u.role === 'admin';
                return (
                  <Table.Tr key={u.id} data-testid="user-row">
                    <Table.Td>
                      <Text size="sm" fw={600}>
                        {u.name || u.email}
                        {self && (
                          <Badge size="xs" ml={6} variant="light">
                            you
                          </Badge>
                        )}
                      </Text>
                      <Text size="xs" c="gray.7">
                        {u.email}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <Select
                        size="xs"
                        aria-label={`Role of ${u.email}`}
                        data={[
                          { value: 'member', label: 'Member' },
                          { value: 'admin', label: 'Admin' },
                        ]}
                        value={u.role}
                        disabled={self}
                        allowDeselect={false}
                        onChange={(v) => {
                          if (v === 'admin' && u.role !== 'admin')
                            setConfirming({
                              title: 'Make admin',
                              text: `${u.email} will be able to do everything you can.`,
                              submit: 'Make admin',
                              run: patchUser(u.id, { role: 'admin' }),
                            });
                          else if (v === 'member' && otherAdmin)
                            setConfirming({
                              title: 'Make member',
                              text: `${u.email} loses admin rights and is signed out.`,
                              submit: 'Make member',
                              run: patchUser(u.id, { role: 'member' }),
                            });
                          else if (v && v !== u.role)
                            update.mutate({ id: u.id, body: { role: v as UserView['role'] } });
                        }}
                      />
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">{u.hasPassword ? 'Password' : 'Keys only'}</Text>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm" data-testid="user-limits">
                        {limitsText(u.limits)}
                      </Text>
                      <UserBudgetSpend userId={u.id} budget={u.limits.monthlyBudgetUsd} />
                    </Table.Td>
                    <Table.Td>
                      <Switch
                        aria-label={`${u.email} active`}
                        checked={!u.disabled}
                        disabled={self}
                        onChange={(e) => {
                          const disabled = !e.currentTarget.checked;
                          if (disabled && otherAdmin)
                            setConfirming({
                              title: 'Disable admin',
                              text: `${u.email} is signed out and their keys stop working until enabled again.`,
                              submit: 'Disable',
                              run: patchUser(u.id, { disabled }),
                            });
                          else update.mutate({ id: u.id, body: { disabled } });
                        }}
                      />
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">{dateTime(u.createdAt)}</Text>
                    </Table.Td>
                    <Table.Td>
                      <Menu position="bottom-end">
                        <Menu.Target>
                          <ActionIcon variant="default" aria-label={`Actions for ${u.email}`}>
                            ⋯
                          </ActionIcon>
                        </Menu.Target>
                        <Menu.Dropdown>
                          <Menu.Item onClick={() => void navigate(`/users/${u.id}/usage`)}>Usage</Menu.Item>
                          <Menu.Item onClick={() => setLimiting(u)}>Edit limits</Menu.Item>
                          {!u.disabled && (
                            <Menu.Item onClick={() => setInviting({ user: u, issued: null })}>
                              Invite link…
                            </Menu.Item>
                          )}
                          {!self && (
                            <>
                              <Menu.Divider />
                              {otherAdmin ? (
                                <Menu.Item
                                  color="red"
                                  onClick={() =>
                                    setConfirming({
                                      title: 'Delete admin',
                                      text: `Delete ${u.email}? Their keys are revoked at once and they are signed out.`,
                                      submit: 'Delete user',
                                      run: (p) => deleteUser(u.id, p),
                                    })
                                  }
                                >
                                  Delete…
                                </Menu.Item>
                              ) : (
                                askItem(
                                  'Delete…',
                                  'Delete user',
                                  `Delete ${u.email}? Their keys are revoked at once and they are signed out.`,
                                  'Delete user',
                                  () => remove.mutate(u.id),
                                )
                              )}
                            </>
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

/** Limits shared by all of a user's keys (empty = no limit); each key's own limits apply on top. */
function UserLimitsModal({
  user,
  onClose,
  onSaved,
}: {
  user: UserView;
  onClose: () => void;
  onSaved: () => void;
}) {
  const limits = useLimitForm(user.limits, { autoFocus: true });
  const save = useMutation({
    mutationFn: () =>
      unwrap(
        api.PATCH('/admin/api/users/{id}', { params: { path: { id: user.id } }, body: limits.limits ?? {} }),
      ),
    onSuccess: () => {
      onSaved();
      onClose();
    },
  });
  return (
    <Modal opened onClose={onClose} title={`Limits of ${user.email}`} size="lg">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (limits.limits) save.mutate();
        }}
      >
        <Stack gap="sm">
          <Text size="sm">
            Shared by all of {user.name || user.email}’s keys together; each key’s own limits still apply.
            Empty means no limit.
          </Text>
          {limits.fields}
          <FormActions error={save.error} pending={save.isPending} submit="Save" onCancel={onClose} />
        </Stack>
      </form>
    </Modal>
  );
}
