/* The deal board: drag cards between stages (SortableJS) and tell the server through htmx.
   The server answers with a `dealsChanged` event and the board region reloads itself, so the
   counts and totals shown are always the server's. Every card also has a Move menu (a link to
   a form), which works without this script. */
(function () {
  "use strict";

  var dragging = false;
  var missedRefresh = false;

  function refresh() {
    document.body.dispatchEvent(new CustomEvent("dealsChanged"));
  }

  function send(card, stageId, beforeId, reason) {
    var values = { stage_id: stageId };
    if (beforeId) values.before_id = beforeId;
    if (reason) values.lost_reason = reason;
    htmx.ajax("POST", card.getAttribute("data-move-url"), {
      source: card,
      values: values,
      swap: "none",
    });
  }

  function nextCard(card) {
    var next = card.nextElementSibling;
    while (next && !next.classList.contains("deal-card")) next = next.nextElementSibling;
    return next;
  }

  function askReason(card, stageId) {
    var dialog = document.getElementById("lost-dialog");
    if (!dialog || typeof dialog.showModal !== "function") {
      send(card, stageId, null, "");
      return;
    }
    var input = dialog.querySelector("input[name='reason']");
    input.value = "";
    dialog.returnValue = "";
    dialog.showModal();
    dialog.addEventListener(
      "close",
      function () {
        var reason = input.value.trim();
        if (dialog.returnValue === "lost" && reason) {
          send(card, stageId, null, reason);
        } else {
          refresh(); // put the card back where it was
        }
      },
      { once: true }
    );
  }

  function onEnd(event) {
    dragging = false;
    var board = event.item.closest("[data-board]");
    if (board) board.removeAttribute("data-dragging");
    var card = event.item;
    var to = event.to;
    if (event.from === to && event.oldIndex === event.newIndex) {
      if (missedRefresh) refresh();
      missedRefresh = false;
      return;
    }
    missedRefresh = false;
    var stageId = to.getAttribute("data-stage-id");
    if (to.getAttribute("data-kind") === "lost") {
      askReason(card, stageId);
      return;
    }
    var next = to.getAttribute("data-kind") === "open" ? nextCard(card) : null;
    send(card, stageId, next ? next.getAttribute("data-deal-id") : null, "");
  }

  function setUp(list) {
    if (list.hasAttribute("data-sortable-ready")) return;
    var board = list.closest("[data-board]");
    if (!board || !board.hasAttribute("data-movable")) return;
    list.setAttribute("data-sortable-ready", "");
    var closed = list.getAttribute("data-kind") !== "open";
    Sortable.create(list, {
      group: { name: "deals", pull: !closed, put: true },
      sort: !closed,
      draggable: ".deal-card",
      filter: ".deal-move",
      preventOnFilter: false,
      // No animation: it leaves empty style attributes that Sortable then clones, which the
      // Content-Security-Policy (style-src 'self') reports as inline styles.
      animation: 0,
      forceFallback: true, // the same pointer-driven drag in every browser, touch included
      fallbackTolerance: 4,
      delay: 180,
      delayOnTouchOnly: true,
      scrollSensitivity: 80,
      onStart: function () {
        dragging = true;
        board.setAttribute("data-dragging", "");
      },
      onEnd: onEnd,
    });
  }

  function init(root) {
    if (typeof Sortable === "undefined" || !root.querySelectorAll) return;
    if (root.matches && root.matches(".deal-list")) setUp(root);
    root.querySelectorAll(".deal-list").forEach(setUp);
  }

  // A live refresh must not pull the board away from under a card being dragged.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (dragging && target && target.id === "board") {
      event.detail.shouldSwap = false;
      missedRefresh = true;
    }
  });

  // The Move dialog's Cancel is a link for pages without script; in the dialog it only closes.
  document.addEventListener("click", function (event) {
    var cancel = event.target.closest("#modal a[data-modal-close]");
    if (cancel) event.preventDefault();
  });

  // Deferred scripts run before htmx's first pass: hear its load events, and set up once more
  // when the page is ready (setting up twice is harmless).
  if (typeof htmx !== "undefined") htmx.onLoad(init);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      init(document);
    });
  } else {
    init(document);
  }
})();
