/* Startvora page behaviour: theme, navigation drawer, menus, toasts, dialogs, bulk selection.
   No inline scripts anywhere: everything is wired here from data- attributes and htmx events. */
(function () {
  "use strict";

  var root = document.documentElement;
  var ICONS = root.getAttribute("data-icons") || "";
  var TOAST_MS = 6000;

  function icon(name) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("class", "icon");
    svg.setAttribute("aria-hidden", "true");
    var use = document.createElementNS(ns, "use");
    use.setAttribute("href", ICONS + "#i-" + name);
    svg.appendChild(use);
    return svg;
  }

  /* ---------- Theme: system -> light -> dark, kept in a cookie so pages render right away ---- */
  var THEMES = ["system", "light", "dark"];

  function setTheme(theme) {
    root.setAttribute("data-theme", theme);
    document.cookie = "theme=" + theme + "; Path=/; Max-Age=31536000; SameSite=Lax";
    document.querySelectorAll("[data-theme-toggle]").forEach(function (btn) {
      var label = btn.getAttribute("data-label-" + theme) || theme;
      btn.setAttribute("aria-label", label);
      btn.setAttribute("title", label);
    });
  }

  /* ---------- Toasts ---------- */
  function dismissLater(toast) {
    window.setTimeout(function () {
      toast.remove();
    }, TOAST_MS);
  }

  function showToast(message, level) {
    var region = document.getElementById("toasts");
    if (!region || !message) return;
    level = level || "info";
    var toast = document.createElement("div");
    toast.className = "toast " + level;
    toast.setAttribute("role", level === "error" ? "alert" : "status");
    var names = { success: "circle-check", error: "circle-alert", warning: "triangle-alert" };
    toast.appendChild(icon(names[level] || "info"));
    var text = document.createElement("p");
    text.textContent = message;
    toast.appendChild(text);
    var close = document.createElement("button");
    close.type = "button";
    close.className = "btn ghost";
    close.setAttribute("data-dismiss", "");
    close.setAttribute("aria-label", region.getAttribute("data-dismiss-label") || "Dismiss");
    close.appendChild(icon("x"));
    toast.appendChild(close);
    region.appendChild(toast);
    dismissLater(toast);
  }

  /* ---------- Confirmation dialog ---------- */
  function confirmAction(question, onConfirm) {
    var dialog = document.getElementById("confirm");
    if (!dialog || typeof dialog.showModal !== "function") {
      if (window.confirm(question)) onConfirm();
      return;
    }
    dialog.querySelector("[data-confirm-text]").textContent = question;
    dialog.returnValue = "";
    dialog.showModal();
    dialog.addEventListener(
      "close",
      function () {
        if (dialog.returnValue === "confirm") onConfirm();
      },
      { once: true }
    );
  }

  /* ---------- Bulk selection in lists ---------- */
  function updateBulk(container) {
    var boxes = container.querySelectorAll("input[name='ids']");
    var checked = container.querySelectorAll("input[name='ids']:checked").length;
    container.querySelectorAll("[data-select-all]").forEach(function (all) {
      all.checked = boxes.length > 0 && checked === boxes.length;
      all.indeterminate = checked > 0 && checked < boxes.length;
    });
    var bar = container.querySelector("[data-bulk-bar]");
    var summary = container.querySelector("[data-list-summary]");
    if (bar) bar.hidden = checked === 0;
    if (summary) summary.hidden = checked > 0;
    var count = container.querySelector("[data-bulk-count]");
    if (count) {
      var template = count.getAttribute("data-template") || "{n}";
      count.textContent = template.replace("{n}", String(checked));
    }
  }

  function closeNav() {
    document.body.classList.remove("nav-open");
    document.querySelectorAll("[data-nav-toggle]").forEach(function (b) {
      b.setAttribute("aria-expanded", "false");
    });
  }

  function init() {
    setTheme(root.getAttribute("data-theme") || "system");
    document.querySelectorAll("#toasts .toast").forEach(dismissLater);
    document.querySelectorAll("[data-bulk]").forEach(updateBulk);
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    var themeBtn = target.closest("[data-theme-toggle]");
    if (themeBtn) {
      var current = root.getAttribute("data-theme") || "system";
      setTheme(THEMES[(THEMES.indexOf(current) + 1) % THEMES.length]);
      return;
    }
    var navBtn = target.closest("[data-nav-toggle]");
    if (navBtn) {
      var open = document.body.classList.toggle("nav-open");
      navBtn.setAttribute("aria-expanded", open ? "true" : "false");
      if (open) {
        var first = document.querySelector(".sidebar a");
        if (first) first.focus();
      }
      return;
    }
    if (target.closest("[data-nav-close]")) {
      closeNav();
      return;
    }
    var dismiss = target.closest("[data-dismiss]");
    if (dismiss) {
      var toast = dismiss.closest(".toast");
      if (toast) toast.remove();
      return;
    }
    var menuItem = target.closest("details.menu .menu-item");
    if (menuItem) menuItem.closest("details.menu").removeAttribute("open");
    if (target.closest("[data-modal-close]")) {
      var modal = document.getElementById("modal");
      if (modal && modal.open) modal.close();
    }
    // A click outside an open menu closes it.
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (!menu.contains(target)) menu.removeAttribute("open");
    });
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      menu.removeAttribute("open");
      var summary = menu.querySelector("summary");
      if (summary) summary.focus();
    });
    if (document.body.classList.contains("nav-open")) closeNav();
  });

  document.addEventListener("change", function (event) {
    var container = event.target.closest("[data-bulk]");
    if (!container) return;
    if (event.target.matches("[data-select-all]")) {
      container.querySelectorAll("input[name='ids']").forEach(function (box) {
        box.checked = event.target.checked;
      });
    }
    updateBulk(container);
  });

  // Forms (and buttons) marked data-confirm ask first; htmx requests use hx-confirm below.
  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      var submitter = event.submitter;
      var question =
        (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
      if (!question || form.hasAttribute("data-confirmed")) {
        form.removeAttribute("data-confirmed");
        return;
      }
      event.preventDefault();
      event.stopImmediatePropagation();
      confirmAction(question, function () {
        form.setAttribute("data-confirmed", "");
        form.requestSubmit(submitter || undefined);
      });
    },
    true
  );

  document.addEventListener("htmx:confirm", function (event) {
    if (!event.detail.question) return;
    event.preventDefault();
    confirmAction(event.detail.question, function () {
      event.detail.issueRequest(true);
    });
  });

  document.addEventListener("showToast", function (event) {
    var detail = event.detail || {};
    showToast(detail.message || detail.value, detail.level);
  });

  document.addEventListener("closeModal", function () {
    var modal = document.getElementById("modal");
    if (modal && modal.open) modal.close();
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "modal-body") {
      var modal = document.getElementById("modal");
      if (modal && !modal.open) modal.showModal();
    }
    document.querySelectorAll("[data-bulk]").forEach(updateBulk);
  });

  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    // The server names the problem in an HX-Trigger toast when it can.
    if (xhr && xhr.getResponseHeader("HX-Trigger")) return;
    var region = document.getElementById("toasts");
    var text = (region && region.getAttribute("data-error-label")) || "The request failed";
    showToast(text + " (" + (xhr ? xhr.status : "?") + ")", "error");
  });

  document.addEventListener("htmx:sendError", function () {
    var region = document.getElementById("toasts");
    showToast(
      (region && region.getAttribute("data-offline-label")) || "The server cannot be reached.",
      "error"
    );
  });

  /* ---------- Live updates: the event stream, else polling while it is down ---------------- */
  var POLL_MS = parseInt(root.getAttribute("data-live-poll"), 10) || 20000;
  var pollTimer = null;

  function poll() {
    document.body.dispatchEvent(new CustomEvent("sv:poll"));
  }
  document.addEventListener("htmx:sseError", function () {
    if (pollTimer === null) {
      poll(); // catch up at once, then keep polling until the stream is back
      pollTimer = window.setInterval(poll, POLL_MS);
    }
    root.setAttribute("data-live", "polling");
  });
  // A region refreshed by a live event asks for the page's current address (its search, filters
  // and sort as the person left them), not the address it was rendered with.
  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    if (elt && elt.hasAttribute && elt.hasAttribute("data-live-url")) {
      event.detail.path = window.location.pathname + window.location.search;
    }
  });
  document.addEventListener("htmx:sseOpen", function () {
    if (pollTimer !== null) {
      window.clearInterval(pollTimer);
      pollTimer = null;
      poll(); // what changed while the stream was down
    }
    root.setAttribute("data-live", "stream");
  });

  var modal = document.getElementById("modal");
  if (modal) {
    modal.addEventListener("close", function () {
      var body = document.getElementById("modal-body");
      if (body) body.replaceChildren();
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
