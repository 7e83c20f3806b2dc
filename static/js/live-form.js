// Forms the server re-renders while they are filled in (data-live-form): what the person
// typed while a refresh was on its way is put back after the swap, and sent again.
(function () {
  "use strict";
  var sent = new WeakMap();

  function fieldsOf(form) {
    return form.querySelectorAll("input[id], textarea[id], select[id]");
  }

  function valueOf(el) {
    return el.type === "checkbox" || el.type === "radio" ? String(el.checked) : el.value;
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.target.closest("[data-live-form]");
    if (!form) return;
    var snapshot = {};
    fieldsOf(form).forEach(function (el) { snapshot[el.id] = valueOf(el); });
    sent.set(form, snapshot);
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (!target || !target.querySelector) return;
    var form = target.querySelector("[data-live-form]") || target.closest("[data-live-form]");
    if (!form || !sent.has(form)) return;
    var snapshot = sent.get(form);
    var typed = [];
    fieldsOf(form).forEach(function (el) {
      if (el.id in snapshot && snapshot[el.id] !== valueOf(el)) typed.push([el.id, valueOf(el)]);
    });
    target.dataset.typedWhileSent = JSON.stringify(typed);
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var holder = event.detail && event.detail.target;
    if (!holder || !holder.dataset || !holder.dataset.typedWhileSent) return;
    var typed = JSON.parse(holder.dataset.typedWhileSent);
    delete holder.dataset.typedWhileSent;
    var last = null;
    typed.forEach(function (pair) {
      var el = document.getElementById(pair[0]);
      if (!el) return;
      if (el.type === "checkbox" || el.type === "radio") el.checked = pair[1] === "true";
      else el.value = pair[1];
      last = el;
    });
    if (last) last.dispatchEvent(new Event("change", { bubbles: true }));
  });
})();
