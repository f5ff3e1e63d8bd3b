// evkb pages: progressive enhancement only (every form works without it).
// Served as a file: the Content-Security-Policy allows no inline script.
(function () {
  // the order page's Print button
  var print = document.getElementById("print");
  if (print) {
    print.hidden = false;
    print.addEventListener("click", function () { window.print(); });
  }
})();
// Suggestions follow the typing (the page's datalist already holds the manuals'
// symptoms, so this only narrows and re-ranks them).
(function () {
  var input = document.getElementById("text"), list = document.getElementById("symptom-list"),
      shown = document.getElementById("suggest"), timer, asked = 0;
  if (!input || !window.fetch) return;
  function link(text) {
    var p = new URLSearchParams();
    ["error", "model"].forEach(function (k) { var el = document.getElementById(k); if (el && el.value) p.set(k, el.value); });
    p.set("text", text);
    return "/?" + p.toString();
  }
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var q = input.value, mine = ++asked;
      if (q.trim().length < 2) { shown.textContent = ""; return; }
      fetch("/api/kb/symptoms?limit=8&q=" + encodeURIComponent(q)).then(function (r) { return r.json(); }).then(function (hits) {
        if (mine !== asked) return;  // a later keystroke asked again: its answer wins
        list.textContent = ""; shown.textContent = "";
        hits.forEach(function (h) {
          var o = document.createElement("option"); o.value = h.text; list.appendChild(o);
          var li = document.createElement("li"), a = document.createElement("a");
          a.href = link(h.text); a.textContent = h.text; li.appendChild(a); shown.appendChild(li);
          // the error code or model may be typed after the suggestions came: keep them
          a.addEventListener("click", function () { a.href = link(h.text); });
        });
      }).catch(function () {});
    }, 150);
  });
})();
