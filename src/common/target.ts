/** host:port of a connection URL without credentials; the path (database) too when asked. */
export function describeTarget(url: string, defaultPort: number, withPath = false): string {
  try {
    const u = new URL(url);
    const host = u.hostname || 'localhost';
    const path = withPath ? decodeURIComponent(u.pathname.replace(/^\//, '')) : '';
    return `${host}:${u.port || defaultPort}${path ? `/${path}` : ''}`;
  } catch {
    return '(unparseable URL)';
  }
}
