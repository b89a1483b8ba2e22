// Every htmx request that changes something carries the page's CSRF token.
document.addEventListener("htmx:configRequest", (event) => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta && event.detail.verb !== "get") {
    event.detail.headers["X-CSRF-Token"] = meta.content;
  }
});
// A session that ended mid-page: go and sign in again instead of swapping an error in.
document.addEventListener("htmx:responseError", (event) => {
  if (event.detail.xhr.status === 401) {
    window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname));
  }
});
