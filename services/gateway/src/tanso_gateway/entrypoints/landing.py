"""The small bilingual landing page served at ``/``."""

LANDING_HTML = """<!doctype html>
<html lang="ja">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tanso 炭素 — GHG accounting</title>
<style>
 body { font-family: system-ui, "Hiragino Sans", "Noto Sans JP", sans-serif; max-width: 46rem;
        margin: 3rem auto; padding: 0 1rem; line-height: 1.6; color: #1f2d24; }
 h1 { color: #2e6b3f; } code, pre { background: #f1f4f2; border-radius: 4px; padding: 0 .3em; }
 pre { padding: .8em; overflow-x: auto; } .en { color: #4b5a50; }
 a.button { display: inline-block; background: #2e6b3f; color: white; padding: .5em 1.2em;
            border-radius: 4px; text-decoration: none; }
</style>
</head>
<body>
<h1>Tanso 炭素</h1>
<p>Scope 1・2・3 の温室効果ガス排出量を算定・監査・分析・開示するプラットフォームです。</p>
<p class="en">A platform to calculate, audit, analyse, report and exchange greenhouse-gas emissions
(Scope 1, 2 and 3).</p>
<p><a class="button" href="/docs">API ドキュメント / API docs</a>
 &nbsp; <a href="/openapi.json">openapi.json</a> &nbsp; <a href="/health/ready">status</a></p>

<h2>サインイン / Sign in</h2>
<ol>
 <li>新しい会社を登録: <code>POST /api/identity/tenants</code><br>
  <span class="en">Register a company: company_name, admin_email, admin_password (12+ characters),
  admin_display_name.</span></li>
 <li>トークンを取得: <code>POST /api/identity/token</code> に email と password を送信<br>
  <span class="en">Get an access token by posting your email and password.</span></li>
 <li>以降のリクエストに <code>Authorization: Bearer &lt;access_token&gt;</code> を付与
  （API ドキュメントでは <b>Authorize</b> ボタン）<br>
  <span class="en">Send it as a bearer token on every other request (the <b>Authorize</b> button in
  the API docs).</span></li>
</ol>
<pre>curl -s -X POST http://HOST/api/identity/token \\
  -H 'content-type: application/json' \\
  -d '{"email": "admin@demo.tanso.example", "password": "…"}'</pre>
<p>ローカル環境 (<code>python -m tanso_devstack run</code>) ではデモ用アカウントの情報が起動時に表示されます。<br>
<span class="en">When run locally, the launcher prints the demo account's sign-in on start.</span></p>
</body>
</html>
"""
