// Sign-in: shown whenever the API answers 401 (radflowd has tokens and this browser
// holds none). The token goes once to POST /api/v1/session, which keeps it in an
// HttpOnly cookie; page scripts never store it. The header shows who is signed in.
import { get, post, del } from "./api.js";

export function signInView(root, onSignedIn) {
  root.innerHTML = `
    <section class="signin" data-testid="signin">
      <h2>Sign in</h2>
      <p class="muted">This radflowd needs a token. An admin creates one with
        <code>radflowd token create NAME --role viewer|submitter|admin</code>.</p>
      <form>
        <input type="password" name="token" data-testid="signin-token" placeholder="rf_…"
               autocomplete="current-password" aria-label="token" size="70" required>
        <button type="submit" data-testid="signin-submit">Sign in</button>
      </form>
      <p class="error" data-testid="signin-error"></p>
    </section>`;
  const form = root.querySelector("form");
  const error = root.querySelector("[data-testid=signin-error]");
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    try {
      await post("/api/v1/session", JSON.stringify({ token: form.token.value.trim() }));
      form.token.value = "";
      onSignedIn();
    } catch (err) {
      error.textContent = err.message;
    }
  });
  return () => {};
}

// "alice (submitter) · Sign out" in the header while signed in; nothing without tokens.
export async function showSession() {
  const line = document.getElementById("session");
  if (!line) return;
  line.textContent = "";
  let session;
  try { session = await get("/api/v1/session"); } catch { return; }
  if (!session || !session.auth) return;
  line.textContent = `${session.name} (${session.role}) · `;
  const out = document.createElement("a");
  out.href = "#/runs";
  out.textContent = "Sign out";
  out.dataset.testid = "signout";
  out.addEventListener("click", async (e) => {
    e.preventDefault();
    await del("/api/v1/session").catch(() => {});
    location.reload();
  });
  line.append(out);
}
