import { PageTitle } from '../components/ui';

export function KeysPage() {
  return <PageTitle title="Keys" />;
}
