/**
 * The service's HTML pages: server-rendered, readable without JavaScript (there is none),
 * with landmarks, headings and labelled controls, and one small stylesheet. Every value that
 * comes from a user or a client (names, user agents, addresses, notes) goes through `escapeHtml`.
 */

/** A session row as the pages show it. */
export interface PageSession {
  sessionId: string;
  current: boolean;
  strategy: string;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
  userAgent: string | null;
  ip: string | null;
  anomaly: string | null;
}

export interface PageContext {
  demo: boolean;
  /** The signed-in user, when there is one. */
  user?: string;
  /** CSRF token for the forms of this page. */
  csrf?: string;
}

/**
 * HTML-escapes text for element content and quoted attribute values.
 * @example escapeHtml('<b>') // '&lt;b&gt;'
 */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function time(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `<time datetime="${iso}">${iso.slice(0, 19).replace('T', ' ')} UTC</time>`;
}

function csrfField(ctx: PageContext): string {
  return ctx.csrf ? `<input type="hidden" name="_csrf" value="${escapeHtml(ctx.csrf)}">` : '';
}

function layout(title: string, ctx: PageContext, body: string): string {
  const nav = ctx.user
    ? `<nav aria-label="Main"><ul>
<li><a href="/dashboard">Dashboard</a></li>
<li><a href="/sessions">Devices</a></li>
<li><form method="post" action="/logout">${csrfField(ctx)}<button type="submit" class="link">Sign out</button></form></li>
</ul></nav>`
    : '';
  const banner = ctx.demo
    ? `<p class="demo" role="note"><strong>Demo</strong> — sign in as <code>alice</code> / <code>alice-password</code> or <code>bob</code> / <code>bob-password</code>. Do not use this instance for real accounts.</p>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Tessera</title>
<link rel="stylesheet" href="/assets/style.css">
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header>
<p class="brand"><a href="/">Tessera</a></p>
${nav}
</header>
${banner}
<main id="main">
${body}
</main>
<footer><p>Tessera reference service · <a href="/.well-known/jwks.json">JWKS</a></p></footer>
</body>
</html>
`;
}

/**
 * The sign-in page.
 * @example res.send(renderSignIn({ demo: true }));
 */
export function renderSignIn(
  ctx: PageContext,
  options: { error?: string; username?: string; csrf?: string } = {},
): string {
  const error = options.error
    ? `<p class="error" role="alert" id="login-error">${escapeHtml(options.error)}</p>`
    : '';
  const described = options.error ? ' aria-describedby="login-error"' : '';
  return layout(
    'Sign in',
    ctx,
    `<h1>Sign in</h1>
${error}
<form method="post" action="/login" class="card"${described}>
${options.csrf ? `<input type="hidden" name="_csrf" value="${escapeHtml(options.csrf)}">` : ''}
<p><label for="username">User name</label>
<input id="username" name="username" autocomplete="username" required maxlength="64" value="${escapeHtml(options.username ?? '')}"></p>
<p><label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024"></p>
<p class="check"><input id="remember" name="remember" type="checkbox" value="1">
<label for="remember">Keep me signed in on this device</label></p>
<p><button type="submit">Sign in</button></p>
</form>`,
  );
}

/**
 * The dashboard: who is signed in and this session's details.
 * @example res.send(renderDashboard(ctx, session));
 */
export function renderDashboard(ctx: PageContext & { user: string }, session: PageSession): string {
  return layout(
    'Dashboard',
    ctx,
    `<h1>Signed in as ${escapeHtml(ctx.user)}</h1>
<section aria-labelledby="this-session" class="card">
<h2 id="this-session">This session</h2>
<dl>
<dt>Session</dt><dd><code>${escapeHtml(session.sessionId)}</code></dd>
<dt>Strategy</dt><dd>${escapeHtml(session.strategy)}</dd>
<dt>Created</dt><dd>${time(session.createdAt)}</dd>
<dt>Last seen</dt><dd>${time(session.lastSeenAt)}</dd>
<dt>Expires</dt><dd>${time(session.expiresAt)}</dd>
</dl>
</section>
<p><a href="/sessions">See every device signed in to your account</a></p>`,
  );
}

/**
 * The devices page: every session of the user with a revoke button.
 * @example res.send(renderDevices(ctx, sessions));
 */
export function renderDevices(
  ctx: PageContext & { user: string },
  sessions: PageSession[],
): string {
  const rows = sessions
    .map((s) => {
      const label = s.current ? 'This device' : `Session ${s.sessionId.slice(0, 8)}`;
      const note = s.anomaly
        ? `<p class="warn"><strong>Unusual activity:</strong> ${escapeHtml(s.anomaly)}</p>`
        : '';
      return `<li class="card${s.current ? ' current' : ''}" data-session="${escapeHtml(s.sessionId)}">
<h2>${escapeHtml(label)}${s.current ? ' <span class="badge">current</span>' : ''}</h2>
<dl>
<dt>Client</dt><dd>${escapeHtml(s.userAgent ?? 'unknown')}</dd>
<dt>Address</dt><dd>${escapeHtml(s.ip ?? 'unknown')}</dd>
<dt>Kind</dt><dd>${s.strategy === 'hybrid' ? 'API token client' : 'Browser'}</dd>
<dt>Created</dt><dd>${time(s.createdAt)}</dd>
<dt>Last seen</dt><dd>${time(s.lastSeenAt)}</dd>
</dl>
${note}
<form method="post" action="/sessions/${encodeURIComponent(s.sessionId)}/revoke">${csrfField(ctx)}
<button type="submit" class="danger">${s.current ? 'Sign out this device' : 'Revoke'}<span class="visually-hidden"> ${escapeHtml(label)}</span></button>
</form>
</li>`;
    })
    .join('\n');
  return layout(
    'Devices',
    ctx,
    `<h1>Your devices</h1>
<p>${sessions.length} active ${sessions.length === 1 ? 'session' : 'sessions'}.</p>
<ul class="sessions">
${rows}
</ul>
<form method="post" action="/logout/all" class="card">${csrfField(ctx)}
<h2>Sign out everywhere</h2>
<p>Ends every session of your account, this one included.</p>
<button type="submit" class="danger">Sign out everywhere</button>
</form>`,
  );
}

/**
 * A short error page.
 * @example res.status(403).send(renderError(ctx, 403, 'Cross-origin request refused'));
 */
export function renderError(ctx: PageContext, status: number, message: string): string {
  return layout(
    `Error ${status}`,
    ctx,
    `<h1>Error ${status}</h1><p>${escapeHtml(message)}</p><p><a href="/">Back to the start page</a></p>`,
  );
}

/** The one stylesheet, served at /assets/style.css. */
export const STYLESHEET = `:root{color-scheme:light dark;--fg:#1b1f24;--bg:#f6f7f9;--card:#fff;--line:#d0d7de;--accent:#0b5cad;--danger:#b42318;--warn:#8a5a00;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;line-height:1.5}
@media (prefers-color-scheme:dark){:root{--fg:#e6e8eb;--bg:#111418;--card:#1a1f25;--line:#343b43;--accent:#6cb6ff;--danger:#ff7b72;--warn:#e3b341}}
*{box-sizing:border-box}
body{margin:0;color:var(--fg);background:var(--bg)}
a{color:var(--accent)}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:var(--card);padding:.5rem}
header{display:flex;align-items:center;justify-content:space-between;flex-wrap:wrap;padding:.75rem 1.5rem;border-bottom:1px solid var(--line);background:var(--card)}
.brand{margin:0;font-weight:700;font-size:1.2rem}.brand a{text-decoration:none;color:var(--fg)}
nav ul{display:flex;gap:1rem;list-style:none;margin:0;padding:0;align-items:center}
nav form{margin:0}
main{max-width:46rem;margin:0 auto;padding:1.5rem}
footer{max-width:46rem;margin:0 auto;padding:1rem 1.5rem;color:inherit;opacity:.75;font-size:.9rem}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:1rem 1.25rem;margin:0 0 1rem}
.card.current{border-color:var(--accent);box-shadow:0 0 0 1px var(--accent)}
.sessions{list-style:none;padding:0}
.sessions h2,.card h2{margin:.25rem 0 .5rem;font-size:1.1rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0 0 .75rem}
dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}
label{display:block;font-weight:600;margin-bottom:.25rem}
.check{display:flex;gap:.5rem;align-items:center}.check label{display:inline;font-weight:400;margin:0}
input[type=text],input:not([type]),input[type=password]{width:100%;padding:.5rem;border:1px solid var(--line);border-radius:6px;font:inherit;background:var(--bg);color:var(--fg)}
button{font:inherit;padding:.45rem 1rem;border-radius:6px;border:1px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer}
button.danger{background:transparent;color:var(--danger);border-color:var(--danger)}
button.link{background:none;border:none;color:var(--accent);padding:0;text-decoration:underline}
:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.badge{font-size:.75rem;border:1px solid var(--accent);color:var(--accent);border-radius:999px;padding:0 .5rem;vertical-align:middle}
.error{color:var(--danger);font-weight:600}
.warn{color:var(--warn)}
.demo{margin:0;padding:.5rem 1.5rem;background:#fff4ce;color:#5c4400;border-bottom:1px solid #e6c35c}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
`;
