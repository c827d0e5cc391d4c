import { PageTitle } from '../components/ui';

export function UsagePage() {
  return <PageTitle title="Usage" />;
}
