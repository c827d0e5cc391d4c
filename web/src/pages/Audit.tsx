import { PageTitle } from '../components/ui';

export function AuditPage() {
  return <PageTitle title="Audit" />;
}
