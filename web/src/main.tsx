import '@mantine/core/styles.css';
import '@mantine/charts/styles.css';
import '@mantine/notifications/styles.css';
import {
  MantineProvider,
  Modal,
  Notification,
  createTheme,
  darken,
  type CSSVariablesResolver,
} from '@mantine/core';
import { Notifications } from '@mantine/notifications';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router';
import { ApiFailure } from './api/client';
import { App } from './App';

const theme = createTheme({
  primaryColor: 'blue',
  primaryShade: 8,
  defaultRadius: 'md',
  focusRing: 'always',
  fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
  components: {
    Modal: Modal.extend({ defaultProps: { closeButtonProps: { 'aria-label': 'Close dialog' } } }),
    Notification: Notification.extend({
      defaultProps: { closeButtonProps: { 'aria-label': 'Dismiss notification' } },
    }),
  },
});

const LIGHT_TEXT = ['blue', 'teal', 'orange', 'red', 'grape', 'gray', 'cyan', 'green', 'yellow'];

// Mantine's dimmed text and placeholders are lighter than WCAG AA allows on white: darken them.
const contrast: CSSVariablesResolver = (t) => ({
  variables: {},
  light: {
    '--mantine-color-dimmed': 'var(--mantine-color-gray-7)',
    '--mantine-color-placeholder': 'var(--mantine-color-gray-7)',
    // Invalid inputs' text and their messages: red 6 is about 3.3:1 on white; red 9 is over 5:1.
    '--mantine-color-error': 'var(--mantine-color-red-9)',
    // Text of the "light" variants (badges, alerts, light buttons): shade 9 is not dark enough for small text
    // on the tinted background (teal, orange: about 4:1), so a darkened shade 9.
    ...Object.fromEntries(
      LIGHT_TEXT.map((c) => [`--mantine-color-${c}-light-color`, darken(t.colors[c][9], 0.3)]),
    ),
  },
  dark: {},
});

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // 4xx answers do not get better by retrying.
      retry: (n, err) => !(err instanceof ApiFailure && err.status >= 400 && err.status < 500) && n < 2,
      refetchOnWindowFocus: true,
      staleTime: 5_000,
    },
  },
});

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <MantineProvider theme={theme} defaultColorScheme="light" cssVariablesResolver={contrast}>
      <Notifications position="top-right" />
      <QueryClientProvider client={queryClient}>
        <BrowserRouter basename="/admin">
          <App />
        </BrowserRouter>
      </QueryClientProvider>
    </MantineProvider>
  </StrictMode>,
);
