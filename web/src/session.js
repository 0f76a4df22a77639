// The browser login (docs/security.md, "Browser login"): mcval signs people in at the identity
// provider and keeps them signed in with an HttpOnly session cookie, so this code never sees a
// token. It only asks who is signed in, links to the sign-in, and signs out (a POST that carries
// the session's CSRF token).

/**
 * The session as the server describes it, or null when the server has no browser login
 * (`--auth none`, or `--auth oidc` without `--login-issuer`).
 * @returns {Promise<null | {authenticated: boolean, subject?: string, name?: string, csrf_token?: string}>}
 */
export async function getSession() {
  try {
    const response = await fetch('/auth/session', { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
    if (!response.ok) return null;
    const session = await response.json();
    return session && session.login ? session : null;
  } catch {
    return null;
  }
}

/** Where to sign in so as to come back to this very view (the hash included). */
export function signInUrl() {
  const here = `${window.location.pathname}${window.location.search}${window.location.hash}`;
  return `/auth/login?return_to=${encodeURIComponent(here)}`;
}

/** Ends the session; resolves to the identity provider's logout URL, if it has one. */
export async function signOut(csrfToken) {
  const response = await fetch('/auth/logout', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { Accept: 'application/json', 'X-CSRF-Token': csrfToken },
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error((body.error && body.error.message) || `sign-out failed (${response.status})`);
  return body.end_session_url || null;
}
