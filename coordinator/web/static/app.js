// Progressive only: every page works without this script. It adds a
// "Copy" button next to a key shown once.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  if (!navigator.clipboard) return;
  for (const el of document.querySelectorAll("[data-copy]")) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = "Copy";
    b.className = "copy";
    b.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(el.textContent.trim());
        b.textContent = "Copied";
      } catch {
        b.textContent = "Copy failed: select the key and copy it";
      }
    });
    el.insertAdjacentElement("afterend", b);
  }
});
