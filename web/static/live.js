/* Live refresh: each [data-live-url] container is replaced by a fresh rendering of its
   content from that URL every data-live-seconds (default 30), only while the tab is
   visible. Every page works without this script; it only saves the reload.
   It is a file, not an inline script, because the CSP allows script-src 'self' only. */
(function () {
  "use strict";

  // "2026-12-07 06:15:30 UTC": the date and the zone, like every time the pages show.
  function clock(date) {
    return date.toISOString().slice(0, 19).replace("T", " ") + " UTC";
  }

  function start(box) {
    const seconds = Number(box.dataset.liveSeconds) || 30;
    const status = document.querySelector("[data-live-status]");
    let timer = null;
    let busy = false;
    let stopped = false;

    function say(text) {
      if (status) {
        status.hidden = false;
        status.textContent = text;
      }
    }

    function schedule() {
      clearTimeout(timer);
      timer = null;
      // A hidden tab asks nothing: no load on the server for pages nobody looks at.
      if (!stopped && document.visibilityState === "visible") {
        timer = setTimeout(refresh, seconds * 1000);
      }
    }

    async function refresh() {
      if (busy || stopped) {
        return;
      }
      // A focused button or field is not swapped out from under the user; next round.
      if (box.contains(document.activeElement)) {
        schedule();
        return;
      }
      busy = true;
      try {
        const response = await fetch(box.dataset.liveUrl, {
          credentials: "same-origin",
          // A redirect means the session ended (to the login page): never swap that in.
          redirect: "manual",
          cache: "no-store",
          headers: { Accept: "text/html" },
        });
        if (response.type === "opaqueredirect" || response.status === 401 ||
            response.status === 403) {
          stopped = true;
          say("Live refresh stopped: signed out. Reload the page.");
          return;
        }
        if (!response.ok || !response.headers.has("X-Postwarden-Fragment")) {
          say("Update failed at " + clock(new Date()) + " (HTTP " + response.status +
              "); retrying.");
          return;
        }
        box.innerHTML = await response.text();
        say("updated " + clock(new Date()));
      } catch (error) {
        say("Update failed at " + clock(new Date()) + " (offline?); retrying.");
      } finally {
        busy = false;
        schedule();
      }
    }

    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") {
        refresh();  // back to the tab: show what changed meanwhile at once
      } else {
        clearTimeout(timer);
        timer = null;
      }
    });
    say("updated " + clock(new Date()));
    schedule();
  }

  document.querySelectorAll("[data-live-url]").forEach(start);
})();
