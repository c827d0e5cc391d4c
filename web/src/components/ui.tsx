import {
  Alert,
  Button,
  Center,
  Group,
  Loader,
  Paper,
  PasswordInput,
  Progress,
  Stack,
  Text,
  Title,
} from '@mantine/core';
import type { ReactNode } from 'react';
import { messageOf } from '../api/client';
import { dateTime, relative } from '../format';

export function PageTitle({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <Group justify="space-between" mb="md" wrap="wrap" gap="sm">
      <Title order={1} size="h2">
        {title}
      </Title>
      <Group gap="xs">{children}</Group>
    </Group>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <Center py="xl" role="status" aria-live="polite">
      <Group gap="sm">
        <Loader size="sm" aria-hidden />
        <Text>Loading {what}…</Text>
      </Group>
    </Center>
  );
}

export function ErrorState({ error, retry }: { error: unknown; retry?: () => void }) {
  return (
    <Alert color="red" title="Could not load this" role="alert">
      <Stack gap="xs" align="flex-start">
        <Text size="sm">{messageOf(error)}</Text>
        {retry && (
          <Button size="xs" variant="light" color="red" onClick={retry}>
            Try again
          </Button>
        )}
      </Stack>
    </Alert>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <Paper withBorder p="lg" radius="md">
      <Stack gap="xs" align="flex-start">
        <Text fw={600}>{title}</Text>
        {children}
      </Stack>
    </Paper>
  );
}

export interface Window {
  usedPercent: number;
  windowMinutes: number | null;
  resetsAt: string | null;
  /** When the window was read (wham/usage poll or an answer). */
  asOf?: string | null;
}

/** One usage-limit window as a labelled bar: how much is used, how much headroom, when it resets. */
export function HeadroomBar({ label, w }: { label: string; w: Window | null | undefined }) {
  if (!w)
    return (
      <div>
        <Text size="sm" fw={500}>
          {label}
        </Text>
        <Text size="sm" c="gray.7">
          No data yet (read from the backend within seconds of adding the account)
        </Text>
      </div>
    );
  const used = Math.max(0, Math.min(100, w.usedPercent));
  const color = used >= 90 ? 'red' : used >= 70 ? 'orange' : 'teal';
  const reset = w.resetsAt
    ? `resets ${relative(w.resetsAt)} (${dateTime(w.resetsAt)})`
    : 'reset time unknown';
  return (
    <div>
      <Group justify="space-between" gap="xs">
        <Text size="sm" fw={500}>
          {label}
        </Text>
        <Text size="sm">{Math.round(100 - used)}% left</Text>
      </Group>
      <Progress.Root size="lg" mt={4}>
        <Progress.Section
          value={used}
          color={color}
          aria-label={`${label}: ${Math.round(used)}% used`}
          data-testid="headroom-bar"
        />
      </Progress.Root>
      <Text size="xs" c="gray.7" mt={2}>
        {Math.round(used)}% used · {reset}
        {w.asOf ? ` · as of ${relative(w.asOf)}` : ''}
      </Text>
    </div>
  );
}

/** The end of a modal form: the mutation's error (if any), Cancel and the submit button. */
export function FormActions({
  error,
  pending,
  submit,
  onCancel,
}: {
  error: unknown;
  pending: boolean;
  submit: string;
  onCancel: () => void;
}) {
  return (
    <>
      {!!error && (
        <Alert color="red" role="alert">
          {messageOf(error)}
        </Alert>
      )}
      <Group justify="flex-end">
        <Button variant="default" onClick={onCancel}>
          Cancel
        </Button>
        <Button type="submit" loading={pending}>
          {submit}
        </Button>
      </Group>
    </>
  );
}

/** The signed-in user's own password (sign-in, and confirming admin-only changes). */
export function CurrentPasswordInput({
  label = 'Your password',
  value,
  onChange,
  ...rest
}: {
  label?: string;
  value: string;
  onChange: (v: string) => void;
  description?: string;
  'data-autofocus'?: boolean;
}) {
  return (
    <PasswordInput
      label={label}
      autoComplete="current-password"
      required
      value={value}
      onChange={(e) => onChange(e.currentTarget.value)}
      {...rest}
    />
  );
}
