/* 渝策问答 embed loader: <script src="https://HOST/PREFIX/widget.js" async></script>
   Adds a floating button that opens the chat widget (HOST/PREFIX/widget) in an iframe.
   Optional attributes on the script tag: data-label="问政策", data-position="left". */
(function () {
  "use strict";
  var me = document.currentScript;
  if (!me || window.__ycWidget) return;
  window.__ycWidget = true;
  var base = me.src.replace(/\/widget\.js(\?.*)?$/, "");
  var label = me.getAttribute("data-label") || "渝策问答";
  var side = me.getAttribute("data-position") === "left" ? "left" : "right";

  function css(e, s) { for (var k in s) e.style[k] = s[k]; return e; }

  var btn = css(document.createElement("button"), {
    position: "fixed", bottom: "20px", zIndex: "2147483000", border: "0", borderRadius: "24px",
    padding: "10px 18px", background: "#1d4ed8", color: "#fff", font: "15px/1.2 sans-serif",
    boxShadow: "0 4px 14px rgba(0,0,0,.25)", cursor: "pointer"
  });
  btn.style[side] = "20px";
  btn.type = "button";
  btn.id = "yc-widget-button";
  btn.textContent = "💬 " + label;
  btn.setAttribute("aria-expanded", "false");

  var frame = null;
  btn.addEventListener("click", function () {
    if (!frame) {
      frame = css(document.createElement("iframe"), {
        position: "fixed", bottom: "72px", width: "380px", height: "560px", maxWidth: "calc(100vw - 40px)",
        maxHeight: "calc(100vh - 100px)", border: "1px solid #d0d5dd", borderRadius: "12px",
        boxShadow: "0 8px 28px rgba(0,0,0,.25)", background: "#fff", zIndex: "2147483000"
      });
      frame.style[side] = "20px";
      frame.id = "yc-widget-frame";
      frame.title = label;
      frame.src = base + "/widget";
      document.body.appendChild(frame);
    } else {
      frame.style.display = frame.style.display === "none" ? "" : "none";
    }
    btn.setAttribute("aria-expanded", frame.style.display === "none" ? "false" : "true");
  });

  if (document.body) document.body.appendChild(btn);
  else document.addEventListener("DOMContentLoaded", function () { document.body.appendChild(btn); });
})();
