/* 渝策问答 widget: a compact chat calling POST {base}/api/ask.
   All document and user text is inserted with textContent (never as HTML). */
(function () {
  "use strict";
  var base = (document.querySelector('meta[name="yc-base"]') || {}).content || "";
  var log = document.getElementById("yc-log");
  var form = document.getElementById("yc-form");
  var input = document.getElementById("yc-q");
  var sendBtn = document.getElementById("yc-send");
  var history = [];

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  function scrollDown() { log.scrollTop = log.scrollHeight; }

  /* a reply taller than the log is shown from its top (the answer line), not scrolled past to its end */
  function showReply(bubble) {
    var row = bubble.parentNode || bubble;
    if (row.offsetHeight > log.clientHeight) log.scrollTop = row.offsetTop - log.offsetTop;
    else scrollDown();
  }

  function cjkish(ch) { return !!ch && (ch.charCodeAt(0) > 0x2e80 || "“”‘’".indexOf(ch) >= 0); }

  /* Same tidying as app.py: table cells ("\n\t") -> " ｜ ", hard wraps between CJK characters joined. */
  function tidy(parts) {
    var full = parts.join(""), out = [], pos = 0;
    parts.forEach(function (part) {
      var buf = "";
      for (var i = pos; i < pos + part.length; i++) {
        var ch = full[i], prev = i ? full[i - 1] : "", next = full[i + 1] || "";
        if (ch === "\t" && prev === "\n") continue;
        if (ch === "\n") {
          if (next === "\t") { buf += " ｜ "; continue; }
          if (cjkish(prev) && cjkish(next)) continue;
        }
        buf += ch;
      }
      out.push(buf);
      pos += part.length;
    });
    return out;
  }

  function openCite(box, n) {
    var d = box.querySelector('details[data-n="' + n + '"]');
    if (!d) return;
    d.open = true;
    d.classList.remove("yc-flash"); void d.offsetWidth; d.classList.add("yc-flash");
    d.scrollIntoView({block: "nearest", behavior: "smooth"});
  }

  /* answer text with [n] turned into buttons that open citation n */
  function answerText(text, ns, box) {
    var frag = document.createDocumentFragment(), re = /\[(\d{1,2})\]/g, last = 0, m;
    while ((m = re.exec(text))) {
      var n = parseInt(m[1], 10);
      if (ns.indexOf(n) < 0) continue;
      frag.appendChild(document.createTextNode(text.slice(last, m.index)));
      var b = el("button", "yc-ref", "[" + n + "]");
      b.type = "button"; b.title = "查看出处 [" + n + "]";
      b.addEventListener("click", openCite.bind(null, box, n));
      frag.appendChild(b);
      last = re.lastIndex;
    }
    frag.appendChild(document.createTextNode(text.slice(last)));
    var div = el("div", "yc-text");
    div.style.whiteSpace = "pre-wrap";
    div.appendChild(frag);
    return div;
  }

  function citation(c) {
    var d = el("details", "yc-cite");
    d.setAttribute("data-n", String(c.n));
    var s = el("summary");
    s.appendChild(el("span", "yc-n", "[" + c.n + "]"));
    s.appendChild(document.createTextNode(" 《" + c.title + "》"));
    s.appendChild(el("span", "yc-loc", c.path || c.location));
    d.appendChild(s);
    var parts = tidy([c.context_before || "", c.quote || "", c.context_after || ""]);
    var clause = el("div", "yc-clause");
    clause.style.whiteSpace = "pre-wrap";
    clause.appendChild(document.createTextNode(parts[0]));
    clause.appendChild(el("mark", "yc-quote", parts[1]));
    clause.appendChild(document.createTextNode(parts[2]));
    d.appendChild(clause);
    return d;
  }

  function feedbackBar(ans) {
    var bar = el("div", "yc-fb");
    bar.appendChild(el("span", null, "有帮助吗？"));
    [["up", "👍"], ["down", "👎"]].forEach(function (r) {
      var b = el("button", null, r[1]);
      b.type = "button"; b.title = r[0] === "up" ? "有帮助" : "没帮助";
      b.setAttribute("data-rating", r[0]);
      b.addEventListener("click", function () {
        bar.querySelectorAll("button").forEach(function (x) { x.disabled = true; });
        fetch(base + "/api/feedback", {
          method: "POST", headers: {"Content-Type": "application/json"},
          body: JSON.stringify({question: ans.question, answer: ans.answer, citations: ans.citations,
                                backend: ans.backend, rating: r[0]})
        }).then(function (res) {
          bar.lastChild.textContent = res.ok ? "感谢反馈！" : "反馈未保存";
        }).catch(function () { bar.lastChild.textContent = "反馈未保存"; });
      });
      bar.appendChild(b);
    });
    bar.appendChild(el("span"));
    return bar;
  }

  function sideTable(rows, ns, bubble) {
    var t = el("table", "yc-table"), head = el("tr");
    ["对象", "年份", "数值", "出处"].forEach(function (h) { head.appendChild(el("th", null, h)); });
    t.appendChild(head);
    rows.forEach(function (r) {
      var tr = el("tr");
      tr.appendChild(el("td", null, r.side));
      tr.appendChild(el("td", null, r.year || "—"));
      tr.appendChild(el("td", null, r.value));
      var cell = el("td");
      cell.appendChild(answerText(r.cite || "—", ns, bubble));
      tr.appendChild(cell);
      t.appendChild(tr);
    });
    return t;
  }

  function renderAnswer(bubble, ans) {
    bubble.textContent = "";
    var ns = (ans.citations || []).map(function (c) { return c.n; });
    if (ans.rewritten_query) bubble.appendChild(el("div", "yc-rewrite", "已理解为：" + ans.rewritten_query));
    if (ans.notice) bubble.appendChild(el("div", "yc-notice", ans.notice));
    var text = ans.answer || "", lead = ans.lead;
    if (ans.refused) {
      var box = el("div", "yc-refused");
      box.appendChild(el("div", "yc-refused-title", "ⓘ 文件中未找到直接依据"));
      box.appendChild(answerText(text, ns, bubble));
      bubble.appendChild(box);
    } else if (lead && text.indexOf(lead) === 0) {
      /* answer first: the direct answer line in bold, the quoted clauses under it folded */
      var first = answerText(lead, ns, bubble);
      first.className += " yc-lead";
      bubble.appendChild(first);
      var rest = text.slice(lead.length).replace(/^\n+/, "");
      if (ans.table && ans.table.length) {
        /* a comparison's sides as a table; its text lines (对象｜年份｜数值｜出处 …) are not repeated below */
        bubble.appendChild(sideTable(ans.table, ns, bubble));
        var lines = rest.split("\n");
        if (lines[0] === "对象｜年份｜数值｜出处") rest = lines.slice(ans.table.length + 1).join("\n").replace(/^\n+/, "");
      }
      if (rest) {
        var ev = el("details", "yc-evidence");
        ev.appendChild(el("summary", null, "依据条款"));
        ev.appendChild(answerText(rest, ns, bubble));
        bubble.appendChild(ev);
      }
    } else {
      bubble.appendChild(answerText(text, ns, bubble));
    }
    if (ns.length) {
      var cites = el("div", "yc-cites");
      cites.appendChild(el("div", "yc-loc", ans.refused ? "最接近的条款：" : "出处（点击 [n] 展开原文）："));
      ans.citations.forEach(function (c) { cites.appendChild(citation(c)); });
      bubble.appendChild(cites);
    }
    bubble.appendChild(feedbackBar(ans));
  }

  /* type the final text out in pieces (the extractive answerer returns it in one go) */
  function typeOut(bubble, text, done) {
    var step = Math.max(6, Math.floor(text.length / 40)), i = 0;
    var span = el("div", "yc-text");
    span.style.whiteSpace = "pre-wrap";
    bubble.textContent = "";
    bubble.appendChild(span);
    (function tick() {
      i += step;
      span.textContent = text.slice(0, i);
      span.appendChild(el("span", "yc-cursor", "▍"));
      scrollDown();
      if (i < text.length) setTimeout(tick, 20); else done();
    })();
  }

  function add(role, text) {
    var hello = log.querySelector(".yc-hello");
    if (hello) hello.remove();
    var m = el("div", "yc-msg yc-" + role);
    var b = el("div", "yc-bubble", text);
    m.appendChild(b);
    log.appendChild(m);
    scrollDown();
    return b;
  }

  function errorText(res, body) {
    var e = body && body.error;
    if (e && e.message_zh) return e.message_zh;
    return "请求失败（" + res.status + "）";
  }

  function ask(q) {
    q = (q || "").trim();
    if (!q) return;
    add("user", q);
    var bubble = add("bot", "正在查找…");
    bubble.setAttribute("data-state", "pending");
    sendBtn.disabled = true;
    var payload = {question: q, history: history.slice(-12)};
    fetch(base + "/api/ask", {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(payload)})
      .then(function (res) {
        return res.json().catch(function () { return null; }).then(function (body) {
          if (!res.ok || !body || typeof body.answer !== "string") throw new Error(errorText(res, body));
          return body;
        });
      })
      .then(function (ans) {
        history.push({role: "user", content: q}, {role: "assistant", content: ans.answer});
        /* the answer line is typed out (the clauses follow folded); without one, the whole reply */
        typeOut(bubble, ans.lead && !ans.refused ? ans.lead : ans.answer, function () {
          renderAnswer(bubble, ans);
          bubble.setAttribute("data-state", "done");
          showReply(bubble);
        });
      })
      .catch(function (err) {
        bubble.textContent = "";
        bubble.appendChild(el("div", "yc-error", err && err.message ? err.message : "网络错误，请稍后再试。"));
        bubble.setAttribute("data-state", "error");
      })
      .then(function () { sendBtn.disabled = false; input.focus(); });
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var q = input.value;
    input.value = "";
    ask(q);
  });
  input.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); form.requestSubmit(); }
  });

  var params = new URLSearchParams(location.search);
  if (params.get("q")) {
    input.value = params.get("q").slice(0, 500);       // ?q= pre-fills; &ask=1 also sends it
    if (params.get("ask") === "1") form.requestSubmit();
  }
})();
