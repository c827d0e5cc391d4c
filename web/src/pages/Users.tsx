import { PageTitle } from '../components/ui';

export function UsersPage() {
  return <PageTitle title="Users" />;
}
