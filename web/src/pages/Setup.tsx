import { Alert, Button, Code, List, PasswordInput, Stack, Text, TextInput } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { useNavigate, useSearchParams } from 'react-router';
import { api, messageOf, unwrap } from '../api/client';
import { Loading } from '../components/ui';
import { queryKeys } from '../queries';
import { AuthFrame } from './SignIn';

/** Shown at /admin while no admin exists and the visitor did not come through the setup link. */
export function FirstRunPage() {
  return (
    <AuthFrame title="Welcome: create the first admin">
      <Text>
        This gateway has no admin yet. When it started, it logged a one-time setup link. Open that link to
        create the first admin:
      </Text>
      <List size="sm" spacing="xs">
        <List.Item>
          Look in the gateway's log for <Code>Open this one-time link to create the first admin</Code>.
        </List.Item>
        <List.Item>
          The link looks like <Code>https://your-gateway/admin/setup?token=…</Code> and works until it is
          used.
        </List.Item>
        <List.Item>
          For automation, set <Code>ADMIN_EMAIL</Code> and <Code>ADMIN_PASSWORD</Code> instead and restart.
        </List.Item>
      </List>
    </AuthFrame>
  );
}

export function SetupPage() {
  const [params] = useSearchParams();
  const token = params.get('token') ?? '';
  const navigate = useNavigate();
  const qc = useQueryClient();
  const [form, setForm] = useState({ name: '', email: '', password: '', confirm: '' });
  const state = useQuery({ queryKey: queryKeys.setup, queryFn: () => unwrap(api.GET('/admin/api/setup')) });
  const create = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST('/admin/api/setup', {
          body: { token, email: form.email, password: form.password, name: form.name },
        }),
      ),
    onSuccess: async () => {
      // Drop the token from the address bar and history, then enter the app signed in.
      qc.setQueryData(['setup'], { needed: false });
      await qc.invalidateQueries({ queryKey: queryKeys.context });
      void navigate('/overview', { replace: true });
    },
  });
  const mismatch = form.confirm.length > 0 && form.confirm !== form.password;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!mismatch) create.mutate();
  };
  if (state.isPending) return <Loading what="setup" />;
  if (state.data && !state.data.needed)
    return (
      <AuthFrame title="Already set up">
        <Text>An admin exists, so this setup link no longer works.</Text>
        <Button onClick={() => void navigate('/', { replace: true })}>Go to sign-in</Button>
      </AuthFrame>
    );
  const set = (k: keyof typeof form) => (e: React.ChangeEvent<HTMLInputElement>) =>
    setForm({ ...form, [k]: e.currentTarget.value });
  return (
    <AuthFrame title="Create the first admin">
      {!token && (
        <Alert color="orange" role="alert">
          This address has no setup token. Open the full link the gateway logged at start.
        </Alert>
      )}
      <Text size="sm">
        You reached this page through the gateway's one-time setup link. The account you create here manages
        subscription accounts, users and keys.
      </Text>
      <form onSubmit={submit}>
        <Stack gap="sm">
          <TextInput label="Your name" autoComplete="name" value={form.name} onChange={set('name')} />
          <TextInput
            label="Email"
            type="email"
            autoComplete="username"
            required
            value={form.email}
            onChange={set('email')}
          />
          <PasswordInput
            label="Password"
            description="At least 8 characters"
            autoComplete="new-password"
            required
            minLength={8}
            value={form.password}
            onChange={set('password')}
          />
          <PasswordInput
            label="Repeat the password"
            autoComplete="new-password"
            required
            value={form.confirm}
            onChange={set('confirm')}
            error={mismatch ? 'The passwords differ' : undefined}
          />
          {create.isError && (
            <Alert color="red" role="alert">
              {messageOf(create.error)}
            </Alert>
          )}
          <Button type="submit" loading={create.isPending} disabled={!token}>
            Create admin and sign in
          </Button>
        </Stack>
      </form>
    </AuthFrame>
  );
}
