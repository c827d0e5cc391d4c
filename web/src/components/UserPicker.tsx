import { Select, type SelectProps } from '@mantine/core';
import type { UserView } from '../api/client';
import { useUsers } from '../queries';

type Props = Omit<SelectProps, 'data'> & {
  /** Offer only users who are not disabled (e.g. as the owner of a new key). */
  activeOnly?: boolean;
};

/** The user options of a picker: id as value, email as label. */
function userOptions(users: UserView[], activeOnly = false) {
  return users.filter((u) => !activeOnly || !u.disabled).map((u) => ({ value: u.id, label: u.email }));
}

/** A searchable select of users by email (admins only: it reads the users list). */
export function UserPicker({ activeOnly = false, ...props }: Props) {
  const users = useUsers();
  return <Select searchable {...props} data={userOptions(users.data?.data ?? [], activeOnly)} />;
}
