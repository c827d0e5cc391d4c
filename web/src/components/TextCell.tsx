import { Table, Text } from '@mantine/core';
import type { ReactNode } from 'react';

/** A table cell holding one small line of text, right-aligned for figures. */
export function TextCell({
  children,
  right,
  testId,
}: {
  children: ReactNode;
  right?: boolean;
  testId?: string;
}) {
  return (
    <Table.Td ta={right ? 'right' : undefined}>
      <Text size="sm" data-testid={testId}>
        {children}
      </Text>
    </Table.Td>
  );
}
