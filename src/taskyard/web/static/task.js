// Comments on the diff's lines: a line's number opens a small form; each comment added
// becomes inputs of the review form (form="review"), sent together as one change request.
// Text is only ever set as textContent or an input's value, never as HTML.

function reviewCount() {
  const count = document.querySelectorAll('input[form="review"][name="body"]').length;
  const send = document.getElementById("review-send");
  if (send) {
    send.textContent = `Send ${count} comment${count === 1 ? "" : "s"} as a change request`;
    send.disabled = count === 0;
  }
}

function commentRow(path, line, text) {
  const row = document.createElement("tr");
  row.className = "comment-row";
  const cell = document.createElement("td");
  cell.colSpan = 3;
  const where = document.createElement("strong");
  where.textContent = `${path}:${line}`;
  const said = document.createElement("p");
  said.textContent = text;
  cell.append(where, said);
  for (const [name, value] of [["path", path], ["line", line], ["body", text]]) {
    const input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = value;
    input.setAttribute("form", "review");
    cell.append(input);
  }
  const remove = document.createElement("button");
  remove.type = "button";
  remove.textContent = "Remove";
  remove.addEventListener("click", () => {
    row.remove();
    reviewCount();
  });
  cell.append(remove);
  row.append(cell);
  return row;
}

function openComment(button) {
  const line = button.closest("tr");
  const next = line.nextElementSibling;
  if (next && next.classList.contains("comment-new")) {
    next.querySelector("textarea").focus();
    return;
  }
  const form = document.getElementById("comment-form").content.firstElementChild.cloneNode(true);
  const path = button.closest("table").dataset.path;
  const number = button.dataset.line;
  form.querySelector(".add").addEventListener("click", () => {
    const text = form.querySelector("textarea").value.trim();
    if (text) {
      form.replaceWith(commentRow(path, number, text));
      reviewCount();
    }
  });
  form.querySelector(".drop").addEventListener("click", () => form.remove());
  line.after(form);
  form.querySelector("textarea").focus();
}

document.addEventListener("click", (event) => {
  const button = event.target instanceof Element ? event.target.closest("button.cl") : null;
  if (button) {
    openComment(button);
  }
});

// A newer diff must not wipe comments being written: keep the old one, and say so.
document.addEventListener("htmx:beforeRequest", (event) => {
  if (event.detail.elt.id === "diff" && document.querySelector('input[form="review"], .comment-new')) {
    event.preventDefault();
    document.getElementById("diff-stale").hidden = false;
  }
});

// The message box posts through htmx: the page stays, and the message arrives in the
// timeline live. Emptied once sent; a refusal is shown beside it.
document.addEventListener("htmx:afterRequest", (event) => {
  const form = event.detail.elt;
  if (!(form instanceof HTMLFormElement) || !form.classList.contains("message-box")) {
    return;
  }
  const problem = form.querySelector(".problem");
  if (event.detail.successful) {
    form.reset();
    problem.hidden = true;
    return;
  }
  let said = "The message was not sent: try again.";
  try {
    said = JSON.parse(event.detail.xhr.responseText).error.message;
  } catch {
    // not the API's error shape: keep the general sentence
  }
  problem.textContent = said;
  problem.hidden = false;
});
