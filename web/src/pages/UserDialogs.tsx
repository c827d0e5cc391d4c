import {
  Alert,
  Badge,
  Button,
  Checkbox,
  Code,
  CopyButton,
  Group,
  Modal,
  PasswordInput,
  Select,
  Stack,
  Text,
  TextInput,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, ApiFailure, messageOf, unwrap, type Schemas, type UserView } from '../api/client';
import { useSession } from '../session';
import { CurrentPasswordInput, FormActions, Loading } from '../components/ui';
import { dateTime } from '../format';

type IssuedInvite = Schemas['IssuedInviteDto'];

/** Creates a user; with "invite" (the default without a password) the one-time invite link is made too. */
export function CreateUserModal({
  opened,
  onClose,
  onCreated,
}: {
  opened: boolean;
  onClose: () => void;
  onCreated: (u: UserView, invite: IssuedInvite | null) => void;
}) {
  const blank = {
    email: '',
    name: '',
    role: 'member' as UserView['role'],
    password: '',
    currentPassword: '',
    invite: true,
  };
  const [f, setF] = useState(blank);
  const create = useMutation({
    mutationFn: async () => {
      const currentPassword = f.role === 'admin' ? { currentPassword: f.currentPassword } : {};
      const u = await unwrap(
        api.POST('/admin/api/users', {
          body: {
            email: f.email,
            name: f.name,
            role: f.role,
            ...(f.password ? { password: f.password } : {}),
            ...currentPassword,
          },
        }),
      );
      const invite =
        f.invite && !f.password
          ? await unwrap(
              api.POST('/admin/api/users/{id}/invite', {
                params: { path: { id: u.id } },
                body: currentPassword,
              }),
            )
          : null;
      return { u, invite };
    },
    onSuccess: ({ u, invite }) => {
      setF(blank);
      create.reset();
      onCreated(u, invite);
    },
  });
  return (
    <Modal opened={opened} onClose={onClose} title="Create user">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <Stack gap="sm">
          <TextInput
            label="Email"
            type="email"
            required
            value={f.email}
            onChange={(e) => setF({ ...f, email: e.currentTarget.value })}
            data-autofocus
          />
          <TextInput
            label="Name"
            value={f.name}
            onChange={(e) => setF({ ...f, name: e.currentTarget.value })}
          />
          <Select
            label="Role"
            data={[
              { value: 'member', label: 'Member: own keys and usage' },
              { value: 'admin', label: 'Admin: everything' },
            ]}
            value={f.role}
            onChange={(v) => setF({ ...f, role: (v as UserView['role']) ?? 'member' })}
            allowDeselect={false}
          />
          <PasswordInput
            label="Initial password (optional)"
            description="At least 8 characters. Share it with them safely; or leave it empty and send an invite link instead."
            autoComplete="new-password"
            value={f.password}
            onChange={(e) => setF({ ...f, password: e.currentTarget.value })}
          />
          {!f.password && (
            <Checkbox
              label="Make a one-time invite link (they set their own password or use single sign-on)"
              checked={f.invite}
              onChange={(e) => setF({ ...f, invite: e.currentTarget.checked })}
            />
          )}
          {f.role === 'admin' && (
            <CurrentPasswordInput
              description="Creating an admin needs your own password."
              value={f.currentPassword}
              onChange={(v) => setF({ ...f, currentPassword: v })}
            />
          )}
          <FormActions
            error={create.error}
            pending={create.isPending}
            submit="Create user"
            onCancel={onClose}
          />
        </Stack>
      </form>
    </Modal>
  );
}

/** The invite link, shown once, with a copy button. */
function InviteLink({ invite }: { invite: IssuedInvite }) {
  return (
    <Stack gap="xs">
      <Alert color="orange" title="Copy the link now" role="status">
        This is the only time the link is shown. It works once, until {dateTime(invite.expiresAt)}. Send it to
        the person over a channel you trust; no mail is sent.
      </Alert>
      <Group wrap="nowrap" align="center">
        <Code fz="sm" style={{ wordBreak: 'break-all', flex: 1, minWidth: 0 }} data-testid="invite-link">
          {invite.url}
        </Code>
        <CopyButton value={invite.url}>
          {({ copied, copy }) => (
            <Button size="xs" variant="light" onClick={copy} aria-label="Copy invite link">
              {copied ? 'Copied' : 'Copy'}
            </Button>
          )}
        </CopyButton>
      </Group>
    </Stack>
  );
}

const STATE_TEXT = { open: 'Open', used: 'Used', expired: 'Expired', revoked: 'Revoked' } as const;

/** A user's invite: its state, and making (or remaking) and revoking the link. */
export function InviteModal({
  user,
  issued,
  onClose,
}: {
  user: UserView;
  issued: IssuedInvite | null;
  onClose: () => void;
}) {
  const qc = useQueryClient();
  const [shown, setShown] = useState<IssuedInvite | null>(issued);
  const [currentPassword, setCurrentPassword] = useState('');
  const key = ['invite-status', user.id];
  const status = useQuery({
    queryKey: key,
    queryFn: () => unwrap(api.GET('/admin/api/users/{id}/invite', { params: { path: { id: user.id } } })),
  });
  const refresh = () => void qc.invalidateQueries({ queryKey: key });
  const issue = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST('/admin/api/users/{id}/invite', {
          params: { path: { id: user.id } },
          body: user.role === 'admin' ? { currentPassword } : {},
        }),
      ),
    onSuccess: (i) => {
      setShown(i);
      setCurrentPassword('');
      refresh();
    },
  });
  const revoke = useMutation({
    mutationFn: () =>
      unwrap(api.DELETE('/admin/api/users/{id}/invite', { params: { path: { id: user.id } } })),
    onSuccess: () => {
      setShown(null);
      refresh();
    },
  });
  const latest = status.data?.invite ?? null;
  return (
    <Modal opened onClose={onClose} title={`Invite ${user.email}`} size="lg">
      <Stack gap="sm">
        {shown ? (
          <InviteLink invite={shown} />
        ) : status.isPending ? (
          <Loading what="the invite" />
        ) : latest ? (
          <Text size="sm">
            Latest invite: <Badge variant="light">{STATE_TEXT[latest.state]}</Badge>{' '}
            {latest.state === 'used'
              ? `used ${dateTime(latest.usedAt)}${latest.usedVia === 'oidc' ? ' with single sign-on' : ''}`
              : `made ${dateTime(latest.createdAt)}, expires ${dateTime(latest.expiresAt)}`}
          </Text>
        ) : (
          <Text size="sm">No invite yet.</Text>
        )}
        <form
          onSubmit={(e) => {
            e.preventDefault();
            issue.mutate();
          }}
        >
          <Stack gap="sm">
            <Text size="sm">
              A new link replaces any open one. The person sets a password (or signs in with single sign-on)
              and lands in their corner.
            </Text>
            {user.role === 'admin' && (
              <CurrentPasswordInput
                description="Inviting to an admin account needs your own password."
                value={currentPassword}
                onChange={setCurrentPassword}
              />
            )}
            {[issue.error, revoke.error].filter(Boolean).map((err, i) => (
              <Alert key={i} color="red" role="alert">
                {messageOf(err)}
              </Alert>
            ))}
            <Group justify="flex-end">
              {latest?.state === 'open' && (
                <Button
                  variant="default"
                  color="red"
                  onClick={() => revoke.mutate()}
                  loading={revoke.isPending}
                >
                  Revoke invite
                </Button>
              )}
              <Button type="submit" loading={issue.isPending}>
                {latest ? 'Make a new link' : 'Make invite link'}
              </Button>
            </Group>
          </Stack>
        </form>
      </Stack>
    </Modal>
  );
}

/** An action that the acting admin confirms with their own password (or a fresh SSO sign-in). */
export type PasswordAsk = {
  title: string;
  text: string;
  submit: string;
  run: (currentPassword?: string) => Promise<unknown>;
};

/**
 * Asks for the acting admin's password; a wrong one is shown in the dialog and nothing changes. An admin without
 * a password (SSO only) confirms with their SSO sign-in: a recent one is enough, an older one sends them through
 * the identity provider again (`fresh_sso_required`) and back to this page.
 */
export function PasswordConfirmModal({
  ask,
  onClose,
  onDone,
}: {
  ask: PasswordAsk | null;
  onClose: () => void;
  onDone: () => void;
}) {
  const session = useSession();
  const ssoOnly = !session.user.hasPassword;
  const [currentPassword, setCurrentPassword] = useState('');
  const confirm = useMutation({
    mutationFn: () => ask!.run(ssoOnly ? undefined : currentPassword),
    onSuccess: () => {
      setCurrentPassword('');
      confirm.reset();
      onDone();
    },
  });
  const close = () => {
    setCurrentPassword('');
    confirm.reset();
    onClose();
  };
  const needsSso = confirm.error instanceof ApiFailure && confirm.error.code === 'fresh_sso_required';
  const reauthUrl = `/admin/api/auth/oidc/start?reauth=1&return=${encodeURIComponent(window.location.pathname.replace(/^\/admin/, '') || '/')}`;
  return (
    <Modal opened={!!ask} onClose={close} title={ask?.title}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          confirm.mutate();
        }}
      >
        <Stack gap="sm">
          <Text size="sm">{ask?.text}</Text>
          {ssoOnly ? (
            <Text size="sm">
              You confirm with your single sign-on: a sign-in of the last few minutes counts.
            </Text>
          ) : (
            <CurrentPasswordInput value={currentPassword} onChange={setCurrentPassword} data-autofocus />
          )}
          {needsSso ? (
            <Alert color="orange" role="alert" title="Sign in again first">
              <Stack gap="xs" align="flex-start">
                <Text size="sm">{messageOf(confirm.error)} You come back here and confirm again.</Text>
                <Button component="a" href={reauthUrl} size="xs">
                  Sign in again with single sign-on
                </Button>
              </Stack>
            </Alert>
          ) : null}
          <FormActions
            error={needsSso ? null : confirm.error}
            pending={confirm.isPending}
            submit={ask?.submit ?? 'Confirm'}
            onCancel={close}
          />
        </Stack>
      </form>
    </Modal>
  );
}
