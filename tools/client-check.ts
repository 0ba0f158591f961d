// A strict client of the Veza API, type-checked against the types that
// openapi-typescript generates from `veza openapi` (test/contract runs the
// dump, the generator, then `tsc --strict --noEmit` on this file). It reads
// the fields a frontend cannot do without, with no undefined checks and no
// casts beyond the one a strict client needs (the parsed JSON body): when
// the document stops saying that a field is there and a string, or that an
// answer has that status, this file stops compiling.
//
// The types are indexed directly (paths[P][M]["responses"][S]...) rather
// than through conditional types, so that a missing path, method, status or
// media type is an error and not a silent `never`.
import type { paths } from "./generated/veza-api";

type TracksPage = paths["/api/v1/tracks"]["get"]["responses"][200]["content"]["application/json"];

type LoginRequest = paths["/api/v1/auth/login"]["post"]["requestBody"]["content"]["application/json"];
type LoginAnswer = paths["/api/v1/auth/login"]["post"]["responses"][200]["content"]["application/json"];

type FeedPage = paths["/api/v1/feed"]["get"]["responses"][200]["content"]["application/json"];
type CommentRequest = paths["/api/v1/tracks/{id}/comments"]["post"]["requestBody"]["content"]["application/json"];
type CommentAnswer = paths["/api/v1/tracks/{id}/comments"]["post"]["responses"][201]["content"]["application/json"];
type ChatAnswer = paths["/api/v1/chat/token"]["post"]["responses"][200]["content"]["application/json"];

type WebhookRequest = paths["/api/v1/webhooks"]["post"]["requestBody"]["content"]["application/json"];
type WebhookAnswer = paths["/api/v1/webhooks"]["post"]["responses"][201]["content"]["application/json"];

// call sends a request and returns the JSON body of the expected answer.
async function call<T>(base: string, method: string, path: string, status: number, token?: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token !== undefined) headers["Authorization"] = `Bearer ${token}`;
  const res = await fetch(base + path, { method, headers, body: body === undefined ? null : JSON.stringify(body) });
  if (res.status !== status) throw new Error(`${method} ${path}: status ${res.status}, want ${status}`);
  return (await res.json()) as T;
}

// The title of the first public track.
export async function firstTrackTitle(base: string): Promise<string> {
  const page = await call<TracksPage>(base, "GET", "/api/v1/tracks", 200);
  const title: string = page.data.items[0].title;
  return title;
}

// An access token, from the login of a registered user.
export async function login(base: string, email: string, password: string): Promise<string> {
  const req: LoginRequest = { email, password };
  const res = await call<LoginAnswer>(base, "POST", "/api/v1/auth/login", 200, undefined, req);
  const token: string = res.data.access_token;
  return token;
}

// The signing secret of a new webhook, shown only in this answer.
export async function createWebhook(base: string, token: string, url: string): Promise<string> {
  const req: WebhookRequest = { url, events: ["track.created"] };
  const res = await call<WebhookAnswer>(base, "POST", "/api/v1/webhooks", 201, token, req);
  const secret: string = res.data.secret;
  return secret;
}

// The newest track of the caller's feed: its owner and how many liked it.
export async function feedHead(base: string, token: string): Promise<string> {
  const page = await call<FeedPage>(base, "GET", "/api/v1/feed", 200, token);
  const item = page.data.items[0];
  const owner: string = item.owner.username;
  const likes: number = item.like_count;
  return `${owner} (${likes})`;
}

// A timed comment's id and author.
export async function comment(base: string, token: string, trackId: string, body: string, atMS?: number): Promise<string> {
  const req: CommentRequest = atMS === undefined ? { body } : { body, at_ms: atMS };
  const res = await call<CommentAnswer>(base, "POST", `/api/v1/tracks/${trackId}/comments`, 201, token, req);
  const id: string = res.data.id;
  const author: string = res.data.user.username;
  return `${id} by ${author}`;
}

// Where to open the chat socket, and with what.
export async function chatURL(base: string, token: string): Promise<string> {
  const res = await call<ChatAnswer>(base, "POST", "/api/v1/chat/token", 200, token);
  const ws: string = res.data.ws_url;
  const expiresIn: number = res.data.expires_in;
  return `${ws}?token=${res.data.token}&ttl=${expiresIn}`;
}
