import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/**/*.test.ts'] } },
      {
        test: {
          name: 'spec',
          include: ['spec-tests/**/*.test.ts'],
          globalSetup: ['spec-tests/support/global-setup.ts'],
          testTimeout: 30_000,
        },
      },
    ],
  },
});
