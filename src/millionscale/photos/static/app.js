// The pages' only script: forms and buttons call the JSON API, then reload.
"use strict";

async function api(method, path, body) {
  const options = { method, credentials: "same-origin", headers: {} };
  if (body instanceof FormData) {
    options.body = body;
  } else if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  let data = null;
  if (response.status !== 204) {
    try { data = await response.json(); } catch (_) { data = null; }
  }
  return { ok: response.ok, status: response.status, data };
}

function describe(result) {
  const detail = result.data && result.data.detail;
  if (Array.isArray(detail)) {
    return detail.map((d) => `${d.loc[d.loc.length - 1]}: ${d.msg}`).join("; ");
  }
  return detail || `request failed (${result.status})`;
}

document.addEventListener("DOMContentLoaded", () => {
  const auth = document.getElementById("auth-form");
  if (auth) {
    auth.addEventListener("submit", async (event) => {
      event.preventDefault();
      const mode = auth.dataset.mode;
      const result = await api("POST", `/api/${mode}`, {
        username: auth.username.value,
        password: auth.password.value,
      });
      if (result.ok) { window.location.assign("/"); }
      else { document.getElementById("auth-error").textContent = describe(result); }
    });
  }

  const upload = document.getElementById("upload-form");
  if (upload) {
    upload.addEventListener("submit", async (event) => {
      event.preventDefault();
      const result = await api("POST", "/api/photos", new FormData(upload));
      if (result.ok) { window.location.assign("/"); }
      else { document.getElementById("upload-error").textContent = describe(result); }
    });
  }

  const logout = document.getElementById("logout");
  if (logout) {
    logout.addEventListener("click", async () => {
      await api("POST", "/api/logout");
      window.location.assign("/login");
    });
  }

  const follow = document.getElementById("follow");
  if (follow) {
    follow.addEventListener("click", async () => {
      const following = follow.dataset.following === "true";
      const result = await api(following ? "DELETE" : "POST",
        `/api/users/${encodeURIComponent(follow.dataset.username)}/follow`);
      if (result.ok) { window.location.reload(); }
    });
  }

  // A photo posted with a queue shows its full image until a worker has made the
  // thumbnail; ask for it a few times, then swap it in.
  document.querySelectorAll("img[data-thumbnail-pending]").forEach((img) => {
    let tries = 0;
    const look = async () => {
      const result = await api("GET", `/api/photos/${img.dataset.thumbnailPending}`);
      if (result.ok && result.data.thumbnail_ready) {
        img.src = result.data.thumbnail_url;
        delete img.dataset.thumbnailPending;
      } else if (result.ok && ++tries < 30) {
        setTimeout(look, 1000);
      }
    };
    setTimeout(look, 500);
  });

  document.querySelectorAll("button.like").forEach((button) => {
    button.addEventListener("click", async () => {
      const liked = button.classList.contains("liked");
      const result = await api(liked ? "DELETE" : "POST", `/api/photos/${button.dataset.photoId}/like`);
      if (result.ok) {
        button.classList.toggle("liked", result.data.liked);
        button.querySelector(".count").textContent = result.data.like_count;
      }
    });
  });
});
