// The generated client against a running service (the test suite starts the AOT binary):
// register, log in, publish an article and read it back, the v1 surface, and an error.
// Responses are checked against the zod schemas by the client itself. RECORD=1 saves the
// answers to test/recorded-responses.json for the offline schema tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as api from '../dist/index.js';

const baseUrl = process.env.BASE_URL ?? 'http://127.0.0.1:8080';
const recorded = [];
const record = (request, schema, { response, data, error }) => {
  recorded.push({ request, status: response.status, schema, body: data ?? error });
  return data;
};

test('register, log in, publish an article and read it back', async () => {
  api.configure({ baseUrl });
  const name = `e2e${Date.now()}`;
  const password = 'end to end password';

  const registered = await api.register({ body: { user: { username: name, email: `${name}@example.com`, password } } });
  assert.equal(registered.response.status, 201);
  record('POST /api/users', 'UserResponse', registered);

  const loggedIn = await api.login({ body: { user: { email: `${name}@example.com`, password } } });
  assert.equal(loggedIn.response.status, 200);
  const token = record('POST /api/users/login', 'UserResponse', loggedIn).user.token;
  api.setToken(token);
  record('GET /api/user', 'UserResponse', await api.getCurrentUser());

  const created = await api.createArticle({ body: { article: { title: 'Written by the client', description: 'From TypeScript', body: 'Typed all the way.', tagList: ['client', 'e2e'] } } });
  assert.equal(created.response.status, 201);
  const { slug } = record('POST /api/articles', 'ArticleResponse', created).article;

  const read = await api.getArticle({ path: { slug } });
  assert.equal(read.response.status, 200);
  const article = record('GET /api/articles/{slug}', 'ArticleResponse', read).article;
  assert.equal(article.title, 'Written by the client');
  assert.equal(article.body, 'Typed all the way.');
  assert.deepEqual(article.tagList, ['client', 'e2e']);
  assert.equal(article.author.username, name);

  record('GET /api/articles', 'ArticlesResponse', await api.listArticles({ query: { author: name, limit: 5 } }));
  record('POST /api/articles/{slug}/favorite', 'ArticleResponse', await api.favoriteArticle({ path: { slug } }));
  record('POST /api/articles/{slug}/comments', 'CommentResponse', await api.addComment({ path: { slug }, body: { comment: { body: 'First!' } } }));
  record('GET /api/articles/{slug}/comments', 'CommentsResponse', await api.listComments({ path: { slug } }));
  record('GET /api/profiles/{username}', 'ProfileResponse', await api.getProfile({ path: { username: name } }));
  record('GET /api/tags', 'TagsResponse', await api.listTags());

  const missing = await api.getArticle({ path: { slug: 'no-such-article' } });
  assert.equal(missing.response.status, 404);
  assert.deepEqual(missing.error, { errors: { article: ['not found'] } });
  record('GET /api/articles/{slug} (unknown)', 'ErrorBody', missing);
});

test('the v1 surface through the same client', async () => {
  api.configure({ baseUrl });
  const name = `e2ev1${Date.now()}`;
  const signedUp = await api.v1Signup({ body: { email: `${name}@example.com`, password: 'a long passphrase', name: 'Jane Client' } });
  assert.equal(signedUp.response.status, 200);
  api.setToken(record('POST /api/v1/user/signup', 'JwtResponse', signedUp).jwt);

  const created = await api.v1CreateBlog({ body: { title: 'A v1 blog', content: 'Written through v1.' } });
  const { id } = record('POST /api/v1/blog', 'BlogIdResponse', created);
  const blog = record('GET /api/v1/blog/{id}', 'BlogResponse', await api.v1GetBlog({ path: { id } })).blog;
  assert.equal(blog.content, 'Written through v1.');
  assert.equal(blog.author.name, 'Jane Client');
  record('GET /api/v1/blog/bulk', 'BlogsResponse', await api.v1ListBlogs({ query: { limit: 3 } }));
});

test.after(() => {
  if (process.env.RECORD === '1') writeFileSync(new URL('./recorded-responses.json', import.meta.url), JSON.stringify(recorded, null, 1) + '\n');
});
