import { Button, Group, Menu, Modal, Text } from '@mantine/core';
import { useState, type ReactNode } from 'react';

/**
 * A confirm dialog: `ask(title, body, confirm, action)` opens it; the action runs on confirm. `askItem(label, …)`
 * is a row menu's item that asks so (red unless `danger` is false).
 */
export function useConfirm() {
  const [pending, setPending] = useState<{
    title: string;
    body: ReactNode;
    confirm: string;
    run: () => void;
  } | null>(null);
  const ask = (title: string, body: ReactNode, confirm: string, run: () => void) =>
    setPending({ title, body, confirm, run });
  const dialog = (
    <Modal opened={!!pending} onClose={() => setPending(null)} title={pending?.title} centered>
      <Text size="sm">{pending?.body}</Text>
      <Group justify="flex-end" mt="lg">
        <Button variant="default" onClick={() => setPending(null)}>
          Cancel
        </Button>
        <Button
          color="red"
          onClick={() => {
            pending?.run();
            setPending(null);
          }}
        >
          {pending?.confirm}
        </Button>
      </Group>
    </Modal>
  );
  const askItem = (
    label: string,
    title: string,
    body: ReactNode,
    confirm: string,
    run: () => void,
    danger = true,
  ) => (
    <Menu.Item color={danger ? 'red' : undefined} onClick={() => ask(title, body, confirm, run)}>
      {label}
    </Menu.Item>
  );
  return { ask, askItem, dialog };
}
