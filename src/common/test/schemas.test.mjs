// The zod schemas give the server's verdicts: the validation table shared with the .NET
// tests (tests/validation-cases.json), and the API's real responses (recorded by the
// end-to-end test against the binary) parse with the response schemas.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as api from '../dist/index.js';

const table = JSON.parse(readFileSync(new URL('../../../tests/validation-cases.json', import.meta.url), 'utf8'));
const someBlog = '3fa85f64-5717-4562-b3fc-2c963f66afa6';

for (const [index, { schema, value, valid, field }] of table.cases.entries()) {
  test(`case ${index}: ${schema} ${JSON.stringify(value).slice(0, 70)} is ${valid ? 'valid' : `invalid (${field})`}`, () => {
    const input = JSON.parse(JSON.stringify(value).replaceAll('{blog}', someBlog));
    const result = api[`z${schema}`].safeParse(input);
    assert.equal(result.success, valid, JSON.stringify(result.error?.issues ?? []));
    if (!valid) assert.ok(result.error.issues.some((issue) => issue.path[0] === field), `no issue for ${field}: ${JSON.stringify(result.error.issues)}`);
  });
}

test('the friendly input names are the generated schemas', () => {
  assert.equal(api.registerInput, api.zNewUser);
  assert.equal(api.loginInput, api.zLoginUser);
  assert.equal(api.newArticleInput, api.zNewArticle);
  assert.equal(api.updateArticleInput, api.zArticleChanges);
  assert.equal(api.newCommentInput, api.zNewComment);
  assert.equal(api.signupInput, api.zSignupRequest);
  assert.equal(api.signinInput, api.zSigninRequest);
  assert.equal(api.createBlogInput, api.zCreateBlogRequest);
  assert.equal(api.updateBlogInput, api.zUpdateBlogRequest);
  assert.ok(api.signupInput.safeParse({ email: 'jane@example.com', password: 'a long passphrase' }).success);
});

const recorded = JSON.parse(readFileSync(new URL('./recorded-responses.json', import.meta.url), 'utf8'));
for (const { request, status, schema, body } of recorded) {
  test(`the recorded answer to ${request} (${status}) parses as ${schema}`, () => {
    api[`z${schema}`].parse(body);
  });
}

test('a response that breaks the contract is rejected', () => {
  const [{ body }] = recorded.filter((r) => r.schema === 'ArticleResponse');
  assert.throws(() => api.zArticleResponse.parse({ article: { ...body.article, favoritesCount: 'many' } }));
  assert.throws(() => api.zUserResponse.parse({ user: { email: 'a@example.com', username: 'a' } }));
});
