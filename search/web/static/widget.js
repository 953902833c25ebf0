// vnsearch widget: <script src="https://search.example/widget.js" defer></script> and
// <vnsearch-box></vnsearch-box>. A search box with autocomplete and a results panel, in a
// shadow root so the host page's CSS neither reaches in nor is touched. No dependencies.
(function () {
  "use strict";
  if (!window.customElements || customElements.get("vnsearch-box")) return;
  var API = new URL(document.currentScript.src).origin;
  var CSS = [
    ":host{all:initial;display:block;position:relative;max-width:36rem;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;color:#1d2330}",
    "form{display:flex;gap:.4rem;margin:0}",
    "input{flex:1;min-width:0;font:inherit;padding:.5rem .7rem;border:1px solid #b8bfcc;border-radius:.5rem;color:inherit;background:#fff}",
    "input:focus{outline:2px solid #0b57d0;outline-offset:1px}",
    "button{font:inherit;padding:.5rem 1rem;border:0;border-radius:.5rem;background:#0b57d0;color:#fff;cursor:pointer}",
    "[role=listbox]{position:absolute;z-index:2147483000;left:0;right:0;margin:.25rem 0 0;padding:.25rem 0;list-style:none;background:#fff;border:1px solid #dde1e8;border-radius:.5rem;box-shadow:0 6px 20px rgba(0,0,0,.12)}",
    "[role=option]{padding:.4rem .75rem;cursor:pointer;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}",
    "[role=option].title{color:#5b6475;font-size:.9em}",
    "[role=option][aria-selected=true],[role=option]:hover{background:#e8f0fe}",
    ".panel{margin-top:.5rem;border:1px solid #dde1e8;border-radius:.5rem;padding:.25rem .75rem;background:#fff}",
    ".hit{padding:.5rem 0;border-bottom:1px solid #eef0f4}",
    ".hit a{color:#0b57d0;font-weight:600;text-decoration:none}",
    ".meta{color:#5b6475;font-size:.85em}",
    ".snippet{margin:.15rem 0 0}",
    "mark{background:#ffe58a;color:inherit}",
    ".more{display:block;padding:.5rem 0;color:#0b57d0}",
    "[hidden]{display:none!important}"
  ].join("");
  var instances = 0;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text != null) node.textContent = text;
    return node;
  }

  // title_html and snippet_html are escaped text with <mark> around matches: rebuilt here as
  // text nodes and <mark> elements, so nothing in them is ever parsed as HTML.
  var ENTITIES = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": "\"", "&#x27;": "'" };
  function marked(html) {
    var fragment = document.createDocumentFragment();
    html.split(/(<mark>[^<]*<\/mark>)/).forEach(function (part, i) {
      var text = (i % 2 ? part.slice(6, -7) : part).replace(/&(?:amp|lt|gt|quot|#x27);/g, function (e) { return ENTITIES[e]; });
      fragment.appendChild(i % 2 ? el("mark", null, text) : document.createTextNode(text));
    });
    return fragment;
  }

  function getJSON(path, params, signal) {
    return fetch(API + path + "?" + new URLSearchParams(params), { signal: signal, credentials: "omit" })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) throw new Error(body.description || body.title || response.statusText);
          return body;
        });
      });
  }

  function articleUrl(id, q) {
    return API + "/read/" + id.split("/").map(encodeURIComponent).join("/") + "?" + new URLSearchParams({ q: q }) + "#first-match";
  }

  class VnSearchBox extends HTMLElement {
    connectedCallback() {
      if (this.shadowRoot) return;
      var root = this.attachShadow({ mode: "open" });
      var id = "vnsearch-" + ++instances;
      if (root.adoptedStyleSheets && window.CSSStyleSheet && CSSStyleSheet.prototype.replaceSync) {
        var sheet = new CSSStyleSheet();
        sheet.replaceSync(CSS);
        root.adoptedStyleSheets = [sheet];
      } else {
        root.appendChild(el("style", null, CSS));
      }
      this.form = el("form", { role: "search" });
      this.input = el("input", {
        type: "search", role: "combobox", "aria-label": this.getAttribute("label") || "Tìm tin",
        "aria-autocomplete": "list", "aria-expanded": "false", "aria-controls": id + "-list",
        autocomplete: "off", spellcheck: "false", maxlength: "100",
        placeholder: this.getAttribute("placeholder") || "Tìm tin, ví dụ: bảo hiểm xã hội"
      });
      this.list = el("ul", { role: "listbox", id: id + "-list", "aria-label": "Gợi ý" });
      this.list.hidden = true;
      this.panel = el("div", { class: "panel", role: "region", "aria-live": "polite", "aria-label": "Kết quả" });
      this.panel.hidden = true;
      this.form.append(this.input, el("button", { type: "submit" }, "Tìm"));
      root.append(this.form, this.list, this.panel);
      this.uid = id;
      this.options = [];
      this.active = -1;
      this.timer = 0;
      this.input.addEventListener("input", this.onInput.bind(this));
      this.input.addEventListener("keydown", this.onKey.bind(this));
      this.input.addEventListener("blur", this.close.bind(this));
      this.form.addEventListener("submit", function (event) { event.preventDefault(); this.search(this.input.value); }.bind(this));
      this.list.addEventListener("mousedown", function (event) {
        var option = event.target.closest("[role=option]");
        event.preventDefault(); // keep the focus in the input
        if (option) this.choose(this.options.indexOf(option));
      }.bind(this));
    }

    onInput() {
      clearTimeout(this.timer);
      this.move(-1); // typing leaves the list
      var q = this.input.value;
      if (!q.trim()) return this.close();
      this.timer = setTimeout(function () {
        if (this.suggesting) this.suggesting.abort();
        this.suggesting = new AbortController();
        getJSON("/suggest", { q: q }, this.suggesting.signal)
          .then(function (body) {
            // Not ready: the server is still building suggestions after a start; ask again soon.
            if (!body.ready) this.timer = setTimeout(this.onInput.bind(this), 1000);
            else this.showOptions(body.suggestions);
          }.bind(this))
          .catch(function () { this.close(); }.bind(this));
      }.bind(this), 150);
    }

    showOptions(suggestions) {
      // A late answer keeps the option chosen since the last keystroke, if it still holds it.
      var kept = this.options[this.active] ? this.options[this.active].textContent : null;
      this.options = suggestions.map(function (s, i) {
        return el("li", { role: "option", id: this.uid + "-opt-" + i, class: s.kind, "aria-selected": "false" }, s.text);
      }, this);
      this.list.replaceChildren.apply(this.list, this.options);
      this.active = -1;
      this.move(suggestions.findIndex(function (s) { return s.text === kept; }));
      this.list.hidden = !this.options.length;
      this.input.setAttribute("aria-expanded", String(!this.list.hidden));
    }

    close() {
      clearTimeout(this.timer);
      this.list.hidden = true;
      this.input.setAttribute("aria-expanded", "false");
      this.move(-1);
    }

    move(index) {
      if (this.options[this.active]) this.options[this.active].setAttribute("aria-selected", "false");
      this.active = index;
      var option = this.options[index];
      if (option) {
        option.setAttribute("aria-selected", "true");
        option.scrollIntoView({ block: "nearest" });
        this.input.setAttribute("aria-activedescendant", option.id);
      } else {
        this.input.removeAttribute("aria-activedescendant");
      }
    }

    onKey(event) {
      var open = !this.list.hidden, n = this.options.length;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (!n) return;
        if (!open) { this.list.hidden = false; this.input.setAttribute("aria-expanded", "true"); }
        var step = event.key === "ArrowDown" ? 1 : -1;
        this.move(this.active < 0 && step < 0 ? n - 1 : (this.active + step + n) % n);
      } else if (event.key === "Enter") {
        event.preventDefault();
        if (open && this.active >= 0) this.choose(this.active);
        else this.search(this.input.value);
      } else if (event.key === "Escape") {
        if (open) this.close();
        else if (!this.panel.hidden) this.panel.hidden = true;
        else this.input.value = "";
        event.preventDefault();
      }
    }

    choose(index) {
      this.input.value = this.options[index].textContent;
      this.search(this.input.value);
    }

    search(q) {
      this.close();
      if (!q.trim()) return;
      if (this.searching) this.searching.abort();
      this.searching = new AbortController();
      getJSON("/search", { q: q, per_page: "5" }, this.searching.signal)
        .then(this.showResults.bind(this, q))
        .catch(function (error) {
          if (error.name === "AbortError") return;
          this.panel.replaceChildren(el("p", null, "Không tìm được: " + error.message));
          this.panel.hidden = false;
        }.bind(this));
    }

    showResults(q, body) {
      var nodes = body.hits.map(function (hit) {
        var item = el("div", { class: "hit" });
        var link = el("a", { href: articleUrl(hit.id, q), target: "_blank", rel: "noopener" });
        link.appendChild(marked(hit.title_html));
        var meta = [hit.date, hit.source].filter(Boolean).join(" · ");
        var snippet = el("p", { class: "snippet" });
        snippet.appendChild(marked(hit.snippet_html));
        item.append(link, el("div", { class: "meta" }, meta), snippet);
        return item;
      });
      if (!nodes.length) {
        nodes.push(el("p", null, "Không có kết quả cho “" + q + "”."));
        if (typeof body.suggestion === "string" && body.suggestion) {
          var retry = el("button", { type: "button" }, body.suggestion);
          retry.addEventListener("click", function () { this.input.value = body.suggestion; this.search(body.suggestion); }.bind(this));
          nodes.push(el("p", null, "Có phải bạn muốn tìm: "), retry);
        }
      } else {
        nodes.push(el("a", { class: "more", href: API + "/?" + new URLSearchParams({ q: q }), target: "_blank", rel: "noopener" },
          "Xem tất cả " + body.total + " kết quả"));
      }
      this.panel.replaceChildren.apply(this.panel, nodes);
      this.panel.hidden = false;
    }
  }

  customElements.define("vnsearch-box", VnSearchBox);
})();
