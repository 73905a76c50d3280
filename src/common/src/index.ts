// The Blog API for TypeScript and JavaScript front ends: types, zod schemas and a typed
// fetch client, all generated (src/generated) from the service's OpenAPI document, plus
// the friendly names front ends validate their forms with.
import type * as z from 'zod';
import { client } from './generated/client.gen.js';
import {
  zArticleChanges, zCreateBlogRequest, zLoginUser, zNewArticle, zNewComment, zNewUser,
  zSigninRequest, zSignupRequest, zUpdateBlogRequest,
} from './generated/zod.gen.js';

export * from './generated/index.js';
export * from './generated/zod.gen.js';
export { client };

/**
 * Points the client at a service. The token (from register, login, signup or signin) is
 * sent as `Authorization: Token <jwt>` to the endpoints that need one.
 */
export function configure(options: { baseUrl: string; token?: string | null; fetch?: typeof fetch }): void {
  client.setConfig({
    baseUrl: options.baseUrl,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    auth: () => (options.token ? `Token ${options.token}` : undefined),
  });
}

/** Replaces the token the client sends (null signs out). */
export function setToken(token: string | null): void {
  client.setConfig({ auth: () => (token ? `Token ${token}` : undefined) });
}

// The /api/v1 inputs, named as the original front end's common package named them.
export const signupInput = zSignupRequest;
export type SignupInput = z.infer<typeof signupInput>;
export const signinInput = zSigninRequest;
export type SigninInput = z.infer<typeof signinInput>;
export const createBlogInput = zCreateBlogRequest;
export type CreateBlogInput = z.infer<typeof createBlogInput>;
export const updateBlogInput = zUpdateBlogRequest;
export type UpdateBlogInput = z.infer<typeof updateBlogInput>;

// The Conduit inputs (what goes inside the "user", "article" or "comment" envelope).
export const registerInput = zNewUser;
export type RegisterInput = z.infer<typeof registerInput>;
export const loginInput = zLoginUser;
export type LoginInput = z.infer<typeof loginInput>;
export const newArticleInput = zNewArticle;
export type NewArticleInput = z.infer<typeof newArticleInput>;
export const updateArticleInput = zArticleChanges;
export type UpdateArticleInput = z.infer<typeof updateArticleInput>;
export const newCommentInput = zNewComment;
export type NewCommentInput = z.infer<typeof newCommentInput>;
