// page.js: what every example page shares. Load it after the socket.io client (/socket.io/socket.io.js).
//
//   const socket = RT.connect("/post");   // io("/post", options from the URL)
//   RT.log("server", "hello");            // a note in #log
//   RT.log("message", "hi", {who: "bob"}); // a chat bubble
//
// The page URL may carry ?transports=polling (or websocket, or
// polling,websocket): it is handed to io() as the transports option, so a
// page can be tried over HTTP long-polling only.
(function () {
  "use strict";

  const params = new URLSearchParams(location.search);

  // options returns the io() options the page URL asks for.
  function options() {
    const opts = {};
    const t = params.get("transports");
    if (t) opts.transports = t.split(",").map((s) => s.trim()).filter(Boolean);
    return opts;
  }

  function clock(t) {
    const d = t ? new Date(t) : new Date();
    return isNaN(d) ? "" : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  // log appends an entry to #log. kind "message" is a chat bubble (meta:
  // who, mine, time); any other kind is a centred note styled by kind.
  function log(kind, text, meta) {
    meta = meta || {};
    const list = document.getElementById("log");
    const li = document.createElement("li");
    li.dataset.kind = kind;
    if (kind === "message") {
      li.className = "msg" + (meta.mine ? " mine" : "");
      const who = document.createElement("span");
      who.className = "who";
      who.textContent = meta.who || "someone";
      const body = document.createElement("span");
      body.className = "text";
      body.textContent = text;
      const time = document.createElement("time");
      time.textContent = clock(meta.time);
      li.append(who, body, time);
    } else {
      li.className = "note " + kind;
      li.textContent = text;
    }
    list.append(li);
    list.scrollTop = list.scrollHeight;
    return li;
  }

  // connect opens a socket to namespace nsp of this page's server and keeps
  // #status (data-state, data-transport) up to date.
  function connect(nsp) {
    const socket = io(nsp || "/", options());
    const status = document.getElementById("status");
    const show = (state, text) => {
      if (!status) return;
      status.dataset.state = state;
      status.textContent = text;
    };
    const transport = () => {
      const engine = socket.io.engine;
      const name = engine && engine.transport ? engine.transport.name : "";
      if (status) status.dataset.transport = name;
      return name;
    };
    show("connecting", "connecting…");
    socket.io.on("open", () => {
      socket.io.engine.on("upgrade", () => {
        if (socket.connected) show("connected", "connected · " + transport());
      });
    });
    socket.on("connect", () => {
      show("connected", "connected · " + transport());
      log("system", "connected to " + (nsp || "/") + " as " + socket.id);
    });
    socket.on("disconnect", (reason) => {
      show("disconnected", "disconnected");
      log("offline", "disconnected: " + reason);
    });
    socket.on("connect_error", (err) => {
      show("disconnected", "cannot connect");
      log("error", "connect error: " + err.message);
    });
    window.socket = socket; // for the console
    return socket;
  }

  window.RT = { connect, log, options, params, clock };
})();
