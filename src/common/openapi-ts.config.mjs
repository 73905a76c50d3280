// Generates src/generated from the committed snapshot of the service's OpenAPI document:
// TypeScript types, zod schemas, and a fetch client whose functions validate requests and
// responses with those schemas. Nothing in src/generated is written by hand.
import { defineConfig } from '@hey-api/openapi-ts';

export default defineConfig({
  input: './openapi.json',
  output: { path: './src/generated' },
  plugins: [
    '@hey-api/typescript',
    '@hey-api/client-fetch',
    'zod',
    { name: '@hey-api/sdk', validator: true },
  ],
});
