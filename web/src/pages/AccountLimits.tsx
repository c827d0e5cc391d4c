import { Alert, Button, Group, Modal, Stack, Text, TextInput } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api, messageOf, unwrap, type Schemas } from '../api/client';
import { queryKeys } from '../queries';

type Account = Schemas['AccountDto'];

/**
 * The same ranges the admin API checks (PATCH /admin/api/accounts/:id answers a 400 naming the field otherwise):
 * reservePercent a whole number 0–90, maxConcurrent empty (no cap) or a whole number ≥ 1.
 */
export function reserveError(raw: string): string | null {
  const t = raw.trim();
  if (t === '') return 'Enter a reserve from 0 to 90 (0 keeps nothing back).';
  if (!/^\d+$/.test(t)) return 'The reserve is a whole number of percent, from 0 to 90.';
  return Number(t) > 90 ? 'At most 90 %: the pool keeps at least a tenth of each window.' : null;
}

export function capError(raw: string): string | null {
  const t = raw.trim();
  if (t === '') return null;
  if (!/^\d+$/.test(t)) return 'Max concurrency is a whole number of requests, or empty for no cap.';
  return Number(t) < 1 ? 'At least 1 (leave it empty for no cap; disable the account to stop it).' : null;
}

/** "20 % reserved · max 4 at once" (or "No reserve · no cap") for the accounts table. */
export function limitsSummary(a: Pick<Account, 'reservePercent' | 'maxConcurrent'>): string {
  const r = a.reservePercent ? `${a.reservePercent} % reserved` : 'No reserve';
  const c = a.maxConcurrent ? `max ${a.maxConcurrent} at once` : 'no cap';
  return `${r} · ${c}`;
}

/**
 * The dialog for an account's owner reserve and concurrency cap (issue 23 item 3): both fields validated as typed,
 * Save only with valid values, the server's answer (e.g. its 400 naming the field) shown in the dialog.
 */
export function AccountLimitsModal({ account, onClose }: { account: Account | null; onClose: () => void }) {
  const qc = useQueryClient();
  const [reserve, setReserve] = useState('');
  const [cap, setCap] = useState('');
  useEffect(() => {
    if (!account) return;
    setReserve(String(account.reservePercent ?? 0));
    setCap(account.maxConcurrent == null ? '' : String(account.maxConcurrent));
  }, [account]);
  const save = useMutation({
    mutationFn: (v: { id: string; reservePercent: number; maxConcurrent: number | null }) =>
      unwrap(
        api.PATCH('/admin/api/accounts/{id}', {
          params: { path: { id: v.id } },
          body: { reservePercent: v.reservePercent, maxConcurrent: v.maxConcurrent },
        }),
      ),
    onSuccess: (a) => {
      notifications.show({ color: 'teal', message: `Limits saved for ${a.label || a.email}.` });
      void qc.invalidateQueries({ queryKey: queryKeys.accounts });
      void qc.invalidateQueries({ queryKey: queryKeys.overview });
      onClose();
    },
  });
  const rErr = reserveError(reserve);
  const cErr = capError(cap);
  const name = account ? account.label || account.email || account.id.slice(0, 8) : '';
  return (
    <Modal
      opened={!!account}
      onClose={() => {
        save.reset();
        onClose();
      }}
      title={`Reserve and concurrency: ${name}`}
      centered
    >
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (!account || rErr || cErr) return;
          save.mutate({
            id: account.id,
            reservePercent: Number(reserve.trim()),
            maxConcurrent: cap.trim() === '' ? null : Number(cap.trim()),
          });
        }}
      >
        <Stack>
          {[
            {
              label: 'Owner reserve (%)',
              description:
                'At this share left in either window the pool sends no new work: the owner keeps it.',
              value: reserve,
              set: setReserve,
              error: rErr,
            },
            {
              label: 'Max concurrent requests',
              description: 'Empty: no cap. Requests beyond it go to other accounts.',
              value: cap,
              set: setCap,
              error: cErr,
            },
          ].map((f, i) => (
            <TextInput
              key={f.label}
              label={f.label}
              description={f.description}
              inputMode="numeric"
              value={f.value}
              onChange={(e) => f.set(e.currentTarget.value)}
              error={f.error}
              data-autofocus={i === 0 || undefined}
            />
          ))}
          {save.isError && (
            <Alert color="red" title="Not saved">
              <Text size="sm">{messageOf(save.error)}</Text>
            </Alert>
          )}
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" disabled={!!rErr || !!cErr} loading={save.isPending}>
              Save limits
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
