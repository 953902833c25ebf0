// The search page, enhanced: results as you type and on every filter change, without a page
// load; the state stays in the URL (pushState), so links can be shared and Back works.
// Without this script the form submits and the server renders the same HTML.
(function () {
  "use strict";
  var form = document.getElementById("search-form");
  var results = document.getElementById("results");
  if (!form || !results) {
    // The article view: the link's #first-match fragment scrolls there; centre it instead.
    var first = document.getElementById("first-match");
    if (first) first.scrollIntoView({ block: "center" });
    return;
  }
  var DELAY = 250;
  var timer = 0;
  var controller = null;
  var typing = false; // the first keystroke of a burst pushes a history entry, the rest replace it

  function formUrl() {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, name) {
      if (value && !(name === "sort" && value === "relevance")) params.append(name, value);
    });
    var query = params.toString();
    return query ? "/?" + query : "/";
  }

  function adopt(target, source) {
    target.replaceChildren.apply(target, Array.prototype.slice.call(source.childNodes));
  }

  // Swaps in the results (and the outlet list, which follows them) of the page at `url`.
  // `history` is "push", "replace" or "" (popstate); `syncForm` copies the new state's form
  // values, for navigations that did not start in the form.
  function load(url, history, syncForm) {
    if (controller) controller.abort();
    controller = new AbortController();
    results.setAttribute("aria-busy", "true");
    return fetch(url, { signal: controller.signal, headers: { Accept: "text/html" } })
      .then(function (response) { return response.text(); })
      .then(function (text) {
        var doc = new DOMParser().parseFromString(text, "text/html");
        var next = doc.getElementById("results");
        var nextForm = doc.getElementById("search-form");
        if (!next || !nextForm) throw new Error("unexpected page");
        adopt(results, next);
        adopt(form.elements.source, nextForm.elements.source);
        form.elements.source.value = nextForm.elements.source.value;
        if (syncForm) {
          ["q", "from", "to", "sort"].forEach(function (name) {
            form.elements[name].value = nextForm.elements[name].value;
          });
        }
        document.title = doc.title;
        if (history === "push") window.history.pushState(null, "", url);
        else if (history === "replace") window.history.replaceState(null, "", url);
        results.removeAttribute("aria-busy");
      })
      .catch(function (error) {
        if (error.name !== "AbortError") window.location.assign(url); // let the server render it
      });
  }

  form.elements.q.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      load(formUrl(), typing ? "replace" : "push", false);
      typing = true;
    }, DELAY);
  });
  form.elements.q.addEventListener("blur", function () { typing = false; });
  form.addEventListener("change", function (event) {
    if (event.target.name === "q") return;
    typing = false;
    load(formUrl(), "push", false);
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    clearTimeout(timer);
    typing = false;
    load(formUrl(), "push", false);
  });
  results.addEventListener("click", function (event) {
    var link = event.target.closest("a[href^='/?']");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    typing = false;
    load(link.getAttribute("href"), "push", true).then(function () { window.scrollTo(0, 0); });
  });
  window.addEventListener("popstate", function () {
    typing = false;
    load(window.location.pathname + window.location.search, "", true);
  });
})();
