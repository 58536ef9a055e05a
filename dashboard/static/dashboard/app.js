/* Docker Image Updater: the little the pages need beyond htmx.
   Live status and resync after a reconnect, title and favicon counts, the confirm dialog,
   toasts, relative times and the run log's scroll. No framework, no build step. */
(function () {
  "use strict";

  var RESYNC = "dashboard:resync";
  var baseTitle = document.title.replace(/^\(\d+\)\s*/, "");
  var faviconHref = null;

  function configureHtmx() {
    // 4xx answers carry a toast explaining the refusal: swap them (out of band) instead of dropping them.
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "4..", swap: true, error: false },
      { code: "...", swap: false, error: true }
    ];
  }

  // --- Live connection ---------------------------------------------------------------------
  var everOpened = false;
  function setLive(state, text) {
    var el = document.getElementById("live-status");
    if (!el) return;
    el.dataset.state = state;
    el.querySelector(".live-text").textContent = text;
  }
  document.addEventListener("htmx:wsOpen", function () {
    setLive("live", "Live");
    if (everOpened) htmx.trigger(document.body, RESYNC); // catch up on what happened while away
    everOpened = true;
  });
  document.addEventListener("htmx:wsClose", function (event) {
    var code = event.detail.event.code;
    if (code === 4401) { window.location.reload(); return; } // session ended: the server sends us to log in
    if (code === 4403) { setLive("offline", "Not allowed"); return; }
    setLive("offline", "Reconnecting…");
    // htmx retries 1006/1011/1012/1013 itself; a server going away (1001) or anything else is retried here.
    if ([1006, 1011, 1012, 1013].indexOf(code) === -1 && event.detail.socketWrapper) {
      setTimeout(event.detail.socketWrapper.reconnect, 1500);
    }
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && everOpened) htmx.trigger(document.body, RESYNC);
  });

  // --- Attention count in the title and favicon ---------------------------------------------
  function updateAttention() {
    var counters = document.getElementById("counters");
    if (!counters) return;
    var n = parseInt(counters.dataset.attention || "0", 10);
    document.title = (n ? "(" + n + ") " : "") + baseTitle;
    var link = document.getElementById("favicon");
    if (!link) return;
    if (faviconHref === null) faviconHref = link.href;
    if (!n) { link.href = faviconHref; return; }
    var label = n > 99 ? "99+" : String(n);
    var svg = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">' +
      '<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#3d6bff"/><stop offset="1" stop-color="#7c5cff"/></linearGradient></defs>' +
      '<rect width="32" height="32" rx="8" fill="url(#g)"/>' +
      '<circle cx="22" cy="22" r="10" fill="#e03131" stroke="#0a0f1e" stroke-width="2"/>' +
      '<text x="22" y="26.5" font-family="system-ui,sans-serif" font-size="' + (label.length > 1 ? 10 : 13) +
      '" font-weight="700" fill="#fff" text-anchor="middle">' + label + "</text></svg>";
    link.href = "data:image/svg+xml," + encodeURIComponent(svg);
  }

  // --- Dialog (rollback confirmation) -------------------------------------------------------
  function dialog() { return document.getElementById("dialog"); }
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "dialog-body") {
      var d = dialog();
      if (!d.open) d.showModal();
      var focus = d.querySelector("[autofocus]");
      if (focus) focus.focus();
    }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var d = dialog();
    if (d && d.open && d.contains(event.detail.elt) && event.detail.xhr.status < 400 && event.detail.requestConfig.verb === "post") {
      d.close();
    }
  });
  document.addEventListener("click", function (event) {
    var closer = event.target.closest("[data-close-dialog]");
    var d = dialog();
    if (closer && d && d.open) { event.preventDefault(); d.close(); }
    var toastClose = event.target.closest(".toast-close");
    if (toastClose) toastClose.closest(".toast").remove();
  });
  document.addEventListener("close", function (event) {
    if (event.target.id === "dialog") document.getElementById("dialog-body").innerHTML = "";
  }, true);

  // --- Toasts: successes fade after a while, errors stay until dismissed --------------------
  function scheduleToasts(root) {
    (root || document).querySelectorAll(".toast-success:not([data-timed])").forEach(function (toast) {
      toast.dataset.timed = "1";
      setTimeout(function () { toast.remove(); }, 6000);
    });
  }

  // --- Relative times -----------------------------------------------------------------------
  function describeAge(seconds) {
    if (seconds < 5) return "just now";
    if (seconds >= 86400) return Math.floor(seconds / 86400) + " d ago";
    if (seconds >= 3600) return Math.floor(seconds / 3600) + " h ago";
    if (seconds >= 60) return Math.floor(seconds / 60) + " min ago";
    return seconds + " s ago";
  }
  function refreshTimes() {
    var now = Date.now();
    document.querySelectorAll("time[data-ago]").forEach(function (el) {
      var at = Date.parse(el.getAttribute("datetime"));
      if (!isNaN(at)) el.textContent = describeAge(Math.max(0, Math.round((now - at) / 1000)));
    });
  }

  // --- Run log: keep following the end while the reader is at the end -----------------------
  var logAtEnd = true;
  document.addEventListener("htmx:oobBeforeSwap", function () {
    var log = document.getElementById("run-log");
    if (log) logAtEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 24;
  });
  function followLog() {
    var log = document.getElementById("run-log");
    if (log && logAtEnd) log.scrollTop = log.scrollHeight;
  }

  function afterAnySwap(event) {
    updateAttention();
    scheduleToasts();
    refreshTimes();
    followLog();
    var target = event && event.detail && event.detail.target;
    if (target && target.classList && target.classList.contains("svc")) {
      target.classList.remove("just-changed");
      void target.offsetWidth; // restart the highlight animation
      target.classList.add("just-changed");
    }
  }
  document.addEventListener("htmx:oobAfterSwap", afterAnySwap);
  document.addEventListener("htmx:afterSettle", afterAnySwap);

  configureHtmx();
  document.addEventListener("DOMContentLoaded", function () {
    updateAttention();
    scheduleToasts();
    followLog();
    setInterval(refreshTimes, 15000);
  });
})();
