// stacklab page viewer: the ladder, packet details and TCP graphs of one
// run, drawn from the JSON embedded above. Hand-written, no library; it
// draws only what is on screen, so large runs still open.
"use strict";
// The data are gzip streams in base64, inflated by the browser itself.
function unbase64(id) {
  const s = document.getElementById(id).textContent.trim();
  if (Uint8Array.fromBase64) return Uint8Array.fromBase64(s, { lastChunkHandling: "loose" });
  const bin = atob(s), u = new Uint8Array(bin.length);
  for (let k = 0; k < bin.length; k++) u[k] = bin.charCodeAt(k);
  return u;
}
async function inflate(id) {
  const z = new Blob([unbase64(id)]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(z).arrayBuffer());
}
(async function () {
  // Milliseconds since navigation began at each step of opening.
  const times = { script: performance.now() };
  const [data, block] = await Promise.all([inflate("data"), inflate("cols")]);
  times.inflated = performance.now();
  const M = JSON.parse(new TextDecoder().decode(data));
  times.parsed = performance.now();
  const notes = M.notes || [], conns = M.conns || [], folds = M.folds || [];
  const hosts = M.hosts || [];
  // The packets are columns: typed arrays decoded from base64, strings
  // split into lines only when first read, and the records (for the
  // details) parsed one line at a time when a packet is shown.
  const N = M.n;
  // Each column is a view of the inflated block, no copy.
  const col = (name, T) => new T(block.buffer, block.byteOffset + M.cols[name], N);
  const PK = {
    t: col("t", Float64Array), ti: col("ti", Float64Array), y1: col("y1", Float64Array), y2: col("y2", Float64Array),
    o: col("o", Int32Array), i: col("i", Int32Array), a: col("a", Uint16Array), b: col("b", Uint16Array),
    c: col("c", Int32Array), dir: col("dir", Uint8Array), m: col("m", Uint8Array), ly: col("ly", Uint8Array),
    id: col("id", Float64Array), rtt: col("rtt", Float64Array), ak: col("ak", Float64Array), fl: col("fl", Uint8Array), seq: col("seq", Uint32Array), ack: col("ack", Uint32Array),
    win: col("win", Uint32Array), len: col("len", Uint32Array), ws: col("ws", Int8Array),
  };
  times.columns = performance.now();
  // lines returns a function giving line k of a string of n lines.
  function lines(s, n, start) {
    let off = null;
    return k => {
      if (!off) {
        off = new Float64Array(n + 1);
        let p = start || 0;
        for (let j = 0; j < n; j++) { off[j] = p; const q = s.indexOf("\n", p); p = q < 0 ? s.length : q + 1; }
        off[n] = p;
      }
      return s.slice(off[k], off[k + 1] - 1);
    };
  }
  const label = lines(M.strs.l, N), why = lines(M.strs.w, N);
  // The records (JSON lines), in chunks of M.rchunk lines, each inflated
  // and indexed when a packet in it is first shown; each line parsed
  // when it is read.
  const RC = M.rchunk, chunkOf = k => Math.floor(k / RC);
  const chunkLoads = new Map(), chunks = new Map(), recCache = new Map(), utf8 = new TextDecoder();
  // The records' elements follow this script, and the browser reads
  // them while the page is drawn: chunk c is whole once the element after
  // it exists (or the document is read).
  document.addEventListener("DOMContentLoaded", () => { times.docread = performance.now(); }, { once: true });
  const chunkRead = c => new Promise(ok => {
    const f = () => document.readyState !== "loading" || document.getElementById("recs" + (c + 1)) ? ok() : setTimeout(f, 10);
    f();
  });
  function loadChunk(c) {
    if (!chunkLoads.has(c)) chunkLoads.set(c, chunkRead(c).then(() => inflate("recs" + c)).then(b => {
      const n = Math.min(RC, M.nrecs - c * RC), off = new Uint32Array(n + 1);
      for (let p = 0, k = 0; p < b.length && k < n; p++) if (b[p] === 10) off[++k] = p + 1;
      chunks.set(c, { b, off });
    }));
    return chunkLoads.get(c);
  }
  // haveRecs tells whether records ks are ready; loadRecs readies them.
  const inRange = k => k >= 0 && k < M.nrecs;
  const haveRecs = ks => ks.every(k => !inRange(k) || chunks.has(chunkOf(k)));
  const loadRecs = ks => Promise.all([...new Set(ks.filter(inRange).map(chunkOf))].map(loadChunk));
  function rec(k) {
    if (!inRange(k)) return null;
    const c = chunks.get(chunkOf(k));
    if (!c) return null;
    let r = recCache.get(k);
    if (r === undefined) {
      const j = k - chunkOf(k) * RC;
      r = JSON.parse(utf8.decode(c.b.subarray(c.off[j], c.off[j + 1] - 1)));
      recCache.set(k, r);
      if (recCache.size > 4096) recCache.delete(recCache.keys().next().value);
    }
    return r;
  }
  const MK = "RDXLZOK";
  const marks = i => { let s = "", v = PK.m[i]; for (let k = 0; v; k++, v >>= 1) if (v & 1) s += MK[k]; return s; };
  const F = { F: 1, S: 2, R: 4, P: 8, A: 16 };
  const isTCP = i => (PK.ly[i] & 1) !== 0, sentAtVantage = i => (PK.ly[i] & 128) !== 0;
  const drop = i => (M.drop && M.drop[i]) || "";
  const palette = ["#1565c0", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f", "#ad1457", "#4e342e", "#283593", "#558b2f", "#00695c"];
  const connColour = c => c < 0 ? "#757575" : palette[c % palette.length];
  const markText = { R: "retransmission", D: "duplicate ACK", X: "dropped", L: "lost (never arrived)", Z: "zero window", O: "out of order", K: "keep-alive" };

  // ---------- page skeleton ----------
  const el = (tag, attrs, ...kids) => {
    const e = document.createElement(tag);
    for (const k in attrs || {}) {
      if (k === "text") e.textContent = attrs[k]; else e.setAttribute(k, attrs[k]);
    }
    for (const k of kids) e.append(k);
    return e;
  };
  document.title = M.title + " — stacklab";
  // The page's own words in Simplified Chinese (M.lang "zh"); the trace
  // itself keeps one notation.
  const ZH = {
    "filter: text, e.g. SYN, 5001, retrans": "过滤：文字，如 SYN、5001、retrans",
    "all connections": "所有连接", "all hosts": "所有主机", "all layers": "所有层",
    "click a packet or step with ← → · wheel scrolls · +/− zoom time": "点击一个数据包，或用 ← → 逐个查看 · 滚轮滚动 · +/− 缩放时间",
    "Select a packet to see its layers, why it was sent, and its bytes.": "选择一个数据包，查看它的各层、发送原因和字节。",
    "drag to zoom · double-click to reset · click a point to select its packet": "拖动以缩放 · 双击复位 · 点击一个点选中它的数据包",
    "acknowledges": "确认了", "measured at": "测量于",
    // the graphs: kinds, legends, axes
    "time–sequence (tcptrace)": "时间–序号图（tcptrace）", "cwnd, ssthresh, in flight": "cwnd、ssthresh、在途数据",
    "RTT per ACK, SRTT, RTO": "每个 ACK 的 RTT、SRTT、RTO", "bytes in flight": "在途字节", "receive window": "接收窗口",
    "throughput": "吞吐量", "data": "数据", "retransmission": "重传", "window (ACK + rwnd)": "窗口（ACK + rwnd）",
    "SACK blocks": "SACK 块", "RTT per ACK": "每个 ACK 的 RTT", "in flight": "在途数据",
    "peer's receive window (snd_wnd)": "对端的接收窗口（snd_wnd）", "own receive window (rwnd)": "本端的接收窗口（rwnd）",
    "(no series: this run did not report TCP variables)": "（没有序列：这次运行没有报告 TCP 变量）",
    "received payload, Mbit/s": "收到的载荷，Mbit/s", "sequence number (relative)": "序号（相对）",
    "milliseconds": "毫秒", "bytes": "字节", "no data for this graph": "这张图没有数据", "no TCP connection": "没有 TCP 连接",
    "time (s)": "时间（秒）", "packet (Wireshark Flow Graph) · state and socket calls": "数据包（Wireshark 流图）· 状态与套接字调用",
    "of": "/", "packets": "个数据包",
    "records not shown": "条记录未显示", "the capture files hold every packet": "抓包文件保存了每个数据包",
  };
  const T = s => (M.lang === "zh" && ZH[s]) || s;
  const noData = T("no data for this graph"), notShown = T("records not shown"); // drawGraph's T is its top margin
  const fText = el("input", { id: "ftext", type: "search", placeholder: T("filter: text, e.g. SYN, 5001, retrans") });
  const fConn = el("select", { id: "fconn" }, el("option", { value: "", text: T("all connections") }));
  conns.forEach((c, i) => fConn.append(el("option", { value: i, text: c.l })));
  const fHost = el("select", { id: "fhost" }, el("option", { value: "", text: T("all hosts") }));
  hosts.forEach((h, i) => fHost.append(el("option", { value: i, text: h })));
  const fLayer = el("select", { id: "flayer" }, el("option", { value: "", text: T("all layers") }));
  for (const l of ["tcp", "udp", "icmp", "arp", "ipv4", "ipv6"]) fLayer.append(el("option", { value: l, text: l }));
  const count = el("span", { class: "help", id: "count" });
  document.body.append(
    el("header", {}, el("h1", { text: M.title }), fText, fConn, fHost, fLayer, count,
      el("span", { class: "help", text: T("click a packet or step with ← → · wheel scrolls · +/− zoom time") })),
    el("div", { id: "main" },
      el("div", { id: "topo" }),
      el("div", { id: "ladder", tabindex: "0" }, el("canvas", { id: "lcanvas" }), el("div", { id: "spacer" })),
      el("div", { id: "detail" }, ...(M.about ? [el("p", { class: "about", text: M.about })] : []), el("p", { text: T("Select a packet to see its layers, why it was sent, and its bytes.") })),
      el("div", { id: "graphs" },
        el("div", { class: "bar" },
          el("select", { id: "gconn" }), el("select", { id: "gkind" }),
          el("span", { class: "legend", id: "legend" }),
          el("span", { class: "hint", text: T("drag to zoom · double-click to reset · click a point to select its packet") })),
        el("div", { id: "gwrap" }, el("canvas", { id: "gcanvas" }), el("div", { id: "tip" })))));

  // ---------- topology ----------
  (function drawTopology() {
    const ns = "http://www.w3.org/2000/svg";
    const nodes = M.nodes && M.nodes.length ? M.nodes : hosts.map(h => ({ name: h }));
    const order = hosts.filter(h => nodes.some(n => n.name === h));
    for (const n of nodes) if (!order.includes(n.name)) order.push(n.name);
    const gap = 190, w = Math.max(400, 80 + gap * order.length), h = 92;
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("width", w); svg.setAttribute("height", h); svg.setAttribute("id", "topology");
    const x = name => 70 + gap * order.indexOf(name);
    const mk = (tag, attrs, text) => {
      const e = document.createElementNS(ns, tag);
      for (const k in attrs) e.setAttribute(k, attrs[k]);
      if (text !== undefined) e.textContent = text;
      svg.append(e); return e;
    };
    (M.links || []).forEach((l, i) => {
      const xa = x(l.a), xb = x(l.b), bend = Math.abs(order.indexOf(l.a) - order.indexOf(l.b)) > 1 ? 30 : 0;
      mk("path", { d: `M${xa} 40 Q${(xa + xb) / 2} ${40 - bend * 2} ${xb} 40`, stroke: "#90a4ae", "stroke-width": 3, fill: "none" });
      const t = mk("text", { x: (xa + xb) / 2, y: 78 - (i % 2) * 10, "text-anchor": "middle", "font-size": 10, fill: "#455a64" }, shortDesc(l.desc));
      const tt = document.createElementNS(ns, "title"); tt.textContent = l.desc || ""; t.append(tt);
    });
    for (const n of nodes) {
      const cx = x(n.name);
      if (n.router) mk("circle", { cx, cy: 40, r: 17, fill: "#fff3e0", stroke: "#ef6c00", "stroke-width": 2 });
      else mk("rect", { x: cx - 30, y: 26, width: 60, height: 28, rx: 4, fill: "#e3f2fd", stroke: "#1565c0", "stroke-width": 2 });
      mk("text", { x: cx, y: 44, "text-anchor": "middle", "font-size": 12, "font-weight": "bold" }, n.name);
      mk("text", { x: cx, y: 16, "text-anchor": "middle", "font-size": 10, fill: "#546e7a" }, (n.addrs || []).join(" "));
    }
    document.getElementById("topo").append(svg);
  })();
  function shortDesc(d) {
    if (!d) return "";
    const m = /link \S+ to \S+; out: ([^;]*); in: (.*)/.exec(d);
    if (!m) return d.length > 48 ? d.slice(0, 46) + "…" : d;
    return m[1] === m[2] ? m[1] : "→ " + m[1] + " / ← " + m[2];
  }

  // ---------- filters ----------
  let visible = []; // hop indexes shown, in order
  function hopText(i) {
    const s = [label(i), hosts[PK.a[i]], hosts[PK.b[i]], why(i), drop(i)];
    for (const c of marks(i)) s.push(markText[c]);
    return s.join(" ").toLowerCase();
  }
  function applyFilter() {
    const t = fText.value.trim().toLowerCase(), c = fConn.value, ho = fHost.value, ly = fLayer.value;
    const lbit = ly === "" ? 0 : 1 << M.layers.indexOf(ly);
    visible = [];
    shown = new Uint8Array(N);
    for (let i = 0; i < N; i++) {
      if (c !== "" && PK.c[i] !== +c) continue;
      if (ho !== "" && PK.a[i] !== +ho && PK.b[i] !== +ho) continue;
      if (lbit && !(PK.ly[i] & lbit)) continue;
      if (t && !hopText(i).includes(t)) continue;
      visible.push(i);
      shown[i] = 1;
    }
    noteShown = notes.map(n => (c === "" || n.c === +c || n.c < 0 && c === "") && (ho === "" || n.a === +ho) && (!t || n.l.toLowerCase().includes(t)) && ly === "");
    count.textContent = `${visible.length} ${T("of")} ${N} ${T("packets")}`;
    drawLadder();
  }
  let shown = new Uint8Array(N).fill(1), noteShown = notes.map(() => true);
  for (const f of [fText, fConn, fHost, fLayer]) f.addEventListener("input", applyFilter);

  // ---------- ladder ----------
  const ladder = document.getElementById("ladder"), lc = document.getElementById("lcanvas"), spacer = document.getElementById("spacer");
  const ctx = lc.getContext("2d");
  const LEFT = 110;
  // TOP grows when the host names need two rows.
  let TOP = 34, zoom = 1, colW = 200, labelX = 0, names = [];
  // Hops sorted by their top, for finding those on screen; maxSpan bounds how far above the screen an arrow can start.
  let byTop = new Int32Array(N), sorted = true, maxSpan = 0;
  for (let i = 0; i < N; i++) { byTop[i] = i; if (i && PK.y1[i] < PK.y1[i - 1]) sorted = false; maxSpan = Math.max(maxSpan, PK.y2[i] - PK.y1[i]); }
  if (!sorted) byTop.sort((a, b) => PK.y1[a] - PK.y1[b]);
  const colX = i => LEFT + i * colW;
  const Y = y => TOP + y * zoom;
  function lowerBound(arr, key, v) { let lo = 0, hi = arr.length; while (lo < hi) { const m = (lo + hi) >> 1; if (key(arr[m]) < v) lo = m + 1; else hi = m; } return lo; }
  function resize() {
    const w = ladder.clientWidth, h = ladder.clientHeight, dpr = window.devicePixelRatio || 1;
    // Columns narrow down to 40 px so that the labels' column (360 px
    // and more) stays on screen with a dozen lifelines or more.
    colW = Math.max(40, Math.min(240, (w - LEFT - 360) / Math.max(1, hosts.length - 1)));
    if (hosts.length === 1) colW = 200;
    labelX = colX(hosts.length - 1) + 36;
    layoutNames();
    lc.width = w * dpr; lc.height = h * dpr; lc.style.width = w + "px"; lc.style.height = h + "px";
    lc.style.marginBottom = -h + "px";
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    spacer.style.height = (TOP + M.height * zoom + 40) + "px";
    spacer.style.width = "1px";
    drawLadder();
  }
  // layoutNames places the host names over their lifelines: on one row
  // when they fit between their neighbours, else on two staggered rows
  // (each then has two columns of room), each cut in the middle with "…"
  // to its room,
  // the first clear of "time (s)" and the last of the labels' column.
  function layoutNames() {
    ctx.font = "bold 13px system-ui, sans-serif";
    const wide = hosts.some(h => ctx.measureText(h).width > colW - 8);
    const rows = wide && hosts.length > 1 ? 2 : 1;
    TOP = rows === 2 ? 50 : 34;
    names = hosts.map((h, i) => {
      const x = colX(i);
      let room = rows * colW - 8;
      if (i === 0) room = Math.min(room, 2 * (x - 60));
      if (i === hosts.length - 1) room = Math.min(room, 2 * (labelX - 8 - x));
      // Cut in the middle: names of a row of hosts differ at the end
      // ("workstation-01", "workstation-02") as often as at the start.
      let t = h;
      for (let a = h.length >> 1, b = a; ctx.measureText(t).width > room && (a > 0 || b < h.length);) {
        if ((b - a) % 2 === 0 && a > 0) a--; else if (b < h.length) b++; else a--;
        t = h.slice(0, a) + "…" + h.slice(b);
      }
      const tw = ctx.measureText(t).width;
      return { t, x0: x - tw / 2, x1: x + tw / 2, y: rows === 2 && i % 2 ? 36 : 20 };
    });
  }
  let selected = -1, drawn = 0;
  function drawLadder() {
    const w = ladder.clientWidth, h = ladder.clientHeight, top = ladder.scrollTop - TOP;
    const lo = top / zoom, hi = (top + h) / zoom;
    ctx.clearRect(0, 0, w, h);
    ctx.save();
    ctx.translate(0, -ladder.scrollTop);
    ctx.font = "12px system-ui, sans-serif";
    // folds
    for (const f of folds) {
      if (Y(f.y + f.h) < ladder.scrollTop || Y(f.y) > ladder.scrollTop + h) continue;
      ctx.fillStyle = "#eceff1"; ctx.fillRect(0, Y(f.y), w, f.h * zoom);
      ctx.fillStyle = "#546e7a"; ctx.textAlign = "left";
      const what = f.n ? `${f.n} ${T("records not shown")}, ${fmtGap(f.g)} · ${T("the capture files hold every packet")}` : `${fmtGap(f.g)} idle, folded`;
      ctx.fillText(`⋯ ${what} ⋯`, 6, Y(f.y) + f.h * zoom / 2 + 4);
    }
    // lifelines
    ctx.strokeStyle = "#b0bec5"; ctx.lineWidth = 1;
    hosts.forEach((_, i) => { ctx.beginPath(); ctx.moveTo(colX(i), ladder.scrollTop); ctx.lineTo(colX(i), ladder.scrollTop + h); ctx.stroke(); });
    // notes on lifelines
    ctx.textAlign = "left";
    const n0 = lowerBound(notes, n => n.y, lo - 20);
    for (let i = n0; i < notes.length && notes[i].y <= hi + 20; i++) {
      const n = notes[i];
      if (!noteShown[i]) continue;
      const y = Y(n.y);
      ctx.fillStyle = n.k === "state" ? "#00695c" : n.k === "call" ? "#283593" : n.k === "drop" ? "#c62828" : "#6d4c41";
      ctx.beginPath(); ctx.arc(colX(n.a), y, 3, 0, 7); ctx.fill();
      ctx.font = n.k === "state" ? "bold 11px system-ui, sans-serif" : "11px system-ui, sans-serif";
      ctx.fillText(hosts[n.a] + ": " + n.l, labelX, y + 4);
    }
    // arrows
    ctx.font = "12px system-ui, sans-serif";
    drawn = 0;
    const h0 = lowerBound(byTop, i => PK.y1[i], lo - maxSpan - 1);
    for (let k = h0; k < byTop.length; k++) {
      const i = byTop[k];
      if (PK.y1[i] > hi + 1) break;
      if (PK.y2[i] < lo - 1 || !shown[i]) continue;
      drawHop(hop(i), i === selected);
      drawn++;
    }
    ctx.restore();
    // host names, pinned on top
    ctx.fillStyle = "rgba(255,255,255,.95)"; ctx.fillRect(0, 0, w, TOP - 4);
    ctx.fillStyle = "#263238"; ctx.font = "bold 13px system-ui, sans-serif"; ctx.textAlign = "center";
    for (const n of names) ctx.fillText(n.t, (n.x0 + n.x1) / 2, n.y);
    ctx.textAlign = "left"; ctx.fillText(T("time (s)"), 4, 20);
    ctx.fillText(T("packet (Wireshark Flow Graph) · state and socket calls"), labelX, 20);
    lc.dataset.drawn = drawn;
  }
  function fmtGap(g) { return g >= 1 ? g.toFixed(2) + " s" : (g * 1000).toFixed(1) + " ms"; }
  // hop gathers what drawing and the details need of packet i.
  function hop(i) {
    return { a: PK.a[i], b: PK.b[i], y1: PK.y1[i], y2: PK.y2[i], t: PK.t[i], c: PK.c[i], i: PK.i[i], o: PK.o[i], m: marks(i), l: label(i), d: drop(i), dir: PK.dir[i] };
  }
  function drawHop(p, sel) {
    const x1 = colX(p.a), x2 = colX(p.b), y1 = Y(p.y1), y2 = Y(p.y2);
    const col = connColour(p.c), lost = p.m && (p.m.includes("X") || p.m.includes("L"));
    let xe = x2, ye = y2;
    if (p.m && p.m.includes("L") || p.m && p.m.includes("X") && p.i < 0) { xe = (x1 + x2) / 2; ye = (y1 + y2) / 2; }
    if (sel) { ctx.fillStyle = "#fff59d"; ctx.fillRect(0, y1 - 9, ladder.clientWidth, 18); }
    ctx.strokeStyle = col; ctx.fillStyle = col; ctx.lineWidth = sel ? 2.5 : 1.3;
    ctx.setLineDash(p.m && p.m.includes("R") ? [5, 3] : []);
    ctx.beginPath(); ctx.moveTo(x1, y1); ctx.lineTo(xe, ye); ctx.stroke(); ctx.setLineDash([]);
    if (!lost || p.i >= 0) {
      const a = Math.atan2(ye - y1, xe - x1);
      ctx.beginPath(); ctx.moveTo(xe, ye);
      ctx.lineTo(xe - 8 * Math.cos(a - 0.4), ye - 8 * Math.sin(a - 0.4));
      ctx.lineTo(xe - 8 * Math.cos(a + 0.4), ye - 8 * Math.sin(a + 0.4)); ctx.fill();
    }
    if (lost) {
      ctx.strokeStyle = "#d32f2f"; ctx.lineWidth = 2.5;
      ctx.beginPath(); ctx.moveTo(xe - 5, ye - 5); ctx.lineTo(xe + 5, ye + 5); ctx.moveTo(xe + 5, ye - 5); ctx.lineTo(xe - 5, ye + 5); ctx.stroke();
    }
    ctx.fillStyle = "#607d8b"; ctx.textAlign = "right";
    ctx.fillText(p.t.toFixed(6), LEFT - 14, y1 + 4);
    ctx.textAlign = "left";
    let x = labelX;
    for (const c of p.m || "") {
      const bg = c === "R" ? "#e53935" : c === "D" ? "#8e24aa" : c === "Z" ? "#f9a825" : c === "O" ? "#00838f" : c === "K" ? "#546e7a" : "#d32f2f";
      const t = c === "R" ? "RETR" : c === "D" ? "DUP ACK" : c === "Z" ? "ZERO WIN" : c === "O" ? "OUT OF ORDER" : c === "K" ? "KEEP-ALIVE" : c === "X" ? "DROP" : "LOST";
      const tw = ctx.measureText(t).width + 6;
      ctx.fillStyle = bg; ctx.fillRect(x, y1 - 8, tw, 15); ctx.fillStyle = "#fff"; ctx.fillText(t, x + 3, y1 + 4); x += tw + 4;
    }
    ctx.fillStyle = col;
    ctx.fillText(p.l + (p.d ? "  ✗ " + p.d : ""), x, y1 + 4);
  }
  ladder.addEventListener("scroll", drawLadder);
  window.addEventListener("resize", () => { resize(); drawGraph(); });
  function hopAt(px, py) {
    const y = (py - TOP) / zoom;
    let best = -1, bd = 7;
    const h0 = lowerBound(byTop, i => PK.y1[i], y - maxSpan - 1);
    for (let k = h0; k < byTop.length && PK.y1[byTop[k]] <= y + 12; k++) {
      const i = byTop[k], p = { a: PK.a[i], b: PK.b[i], y1: PK.y1[i], y2: PK.y2[i] };
      if (!shown[i]) continue;
      if (px >= labelX - 10 && Math.abs(Y(p.y1) - py) < 9) return i;
      const d = segDist(px, py, colX(p.a), Y(p.y1), colX(p.b), Y(p.y2));
      if (d < bd) { bd = d; best = i; }
    }
    return best;
  }
  function segDist(px, py, x1, y1, x2, y2) {
    const dx = x2 - x1, dy = y2 - y1, l = dx * dx + dy * dy;
    let t = l ? ((px - x1) * dx + (py - y1) * dy) / l : 0;
    t = Math.max(0, Math.min(1, t));
    return Math.hypot(px - x1 - t * dx, py - y1 - t * dy);
  }
  ladder.addEventListener("click", e => {
    const r = ladder.getBoundingClientRect();
    const i = hopAt(e.clientX - r.left + ladder.scrollLeft, e.clientY - r.top + ladder.scrollTop);
    if (i >= 0) select(i, false);
    ladder.focus();
  });
  document.addEventListener("keydown", e => {
    if (e.target === fText) return;
    if (e.key === "ArrowRight" || e.key === "ArrowDown" || e.key === "j") step(1);
    else if (e.key === "ArrowLeft" || e.key === "ArrowUp" || e.key === "k") step(-1);
    else if (e.key === "+" || e.key === "=") { zoom *= 1.5; resize(); }
    else if (e.key === "-") { zoom = Math.max(0.2, zoom / 1.5); resize(); }
    else return;
    e.preventDefault();
  });
  function step(d) {
    if (!visible.length) return;
    let k = lowerBound(visible, i => i, selected);
    if (selected < 0) k = d > 0 ? 0 : visible.length - 1;
    else if (visible[k] === selected) k += d;
    else if (d < 0) k -= 1;
    k = Math.max(0, Math.min(visible.length - 1, k));
    select(visible[k], true);
  }
  function select(i, scroll) {
    times.select = performance.now();
    selected = i;
    const p = hop(i);
    if (scroll) {
      const y = Y(p.y1);
      if (y < ladder.scrollTop + TOP + 10 || y > ladder.scrollTop + ladder.clientHeight - 20) ladder.scrollTop = y - ladder.clientHeight / 2;
    }
    drawLadder();
    showDetail(i, p);
    if (p.c >= 0 && String(p.c) !== gConn.value && conns[p.c].p === "tcp") { gConn.value = p.c; gdir = p.dir; gzoom = null; }
    // When its records are still to be read, the details come first.
    const need = [p.o, p.i, p.o - 40, p.o + 40];
    if (haveRecs(need)) drawGraph(); else loadRecs(need).then(() => { if (selected === i) drawGraph(); });
    window.stacklabSelected = i;
  }

  // ---------- details ----------
  const detail = document.getElementById("detail");
  function kv(obj) {
    const t = el("table");
    for (const k in obj) {
      let v = obj[k];
      if (v && typeof v === "object") v = JSON.stringify(v);
      t.append(el("tr", {}, el("td", { text: k }), el("td", { text: String(v) })));
    }
    return t;
  }
  function showDetail(i, p) {
    // Its records, and those around it (the calls made with it).
    const need = [p.o, p.i, p.o - 40, p.o + 40];
    if (!haveRecs(need)) {
      detail.replaceChildren(el("p", { text: "reading the packets' records…" }));
      loadRecs(need).then(() => { if (selected === i) showDetail(i, p); });
      return;
    }
    const r = rec(p.o), rin = p.i >= 0 ? rec(p.i) : null;
    detail.replaceChildren();
    detail.append(el("h2", { text: `#${r.id}  ${hosts[p.a]} → ${hosts[p.b]}` }));
    detail.append(el("div", { style: "color:" + connColour(p.c), text: p.l }));
    // A packet whose sending no vantage point captured is known where it arrived.
    const when = { [r.dir === "in" ? "arrived" : "sent"]: r.time.toFixed(6) + " s" + (r.vantage ? " at " + r.vantage : "") };
    if (rin && rin !== r) when.arrived = rin.time.toFixed(6) + " s at " + rin.vantage + ` (+${((rin.time - r.time) * 1000).toFixed(3)} ms)`;
    when.length = r.len + " bytes";
    if (PK.rtt[i] >= 0) when.RTT = (PK.rtt[i] / 1000).toFixed(3) + " ms: " + T("acknowledges") + " #" + PK.ak[i] + (rin && rin.vantage ? " (" + T("measured at") + " " + rin.vantage + ")" : "");
    detail.append(kv(when));
    const calls = socketCalls(p, r);
    if (calls.length) { detail.append(el("h3", { text: "socket call" })); for (const c of calls) detail.append(el("div", { text: c })); }
    if (r.note) { detail.append(el("h3", { text: "why it was sent" })); detail.append(el("div", { class: "why", text: r.note })); }
    for (const c of p.m || "") detail.append(el("div", { class: c === "X" || c === "L" ? "drop" : "mark", text: markText[c] + (c === "X" && p.d ? ": " + p.d : c === "L" ? ": no vantage point received it" : "") }));
    if (r.malformed) detail.append(el("div", { class: "drop", text: "malformed: " + r.malformed }));
    const L = r.layers || {};
    const order = ["tcp", "udp", "icmp", "icmp6", "ipv4", "ipv6", "arp", "eth"];
    for (const k of order) {
      if (!(k in L)) continue;
      detail.append(el("h3", { text: k }));
      detail.append(kv(L[k]));
    }
    if (r.bytes) {
      detail.append(el("h3", { text: `bytes (${r.bytes.length / 2} of ${r.len})` }));
      detail.append(el("pre", { id: "hexdump", text: hexdump(r.bytes) }));
    }
    times.detail = performance.now(); times.detailOf = i;
  }
  function socketCalls(p, r) {
    // The calls the sender made at the instant the packet left.
    const out = [];
    for (let k = p.o - 1; k >= 0 && k > p.o - 40; k--) {
      const e = rec(k);
      if (!e || e.time < r.time) break;
      if (e.type === "event" && e.kind === "call" && e.host === hosts[p.a]) out.unshift(`${e.name}(${e.detail || ""})`);
    }
    for (let k = p.o + 1; k < p.o + 40; k++) {
      const e = rec(k);
      if (!e || e.time > r.time) break;
      if (e.type === "event" && e.kind === "call" && e.host === hosts[p.a]) out.push(`${e.name}(${e.detail || ""})`);
      if (e.type === "packet" && e.dir === "out") break;
    }
    return out;
  }
  function hexdump(hex) {
    let s = "";
    for (let o = 0; o < hex.length / 2; o += 16) {
      let h = "", a = "";
      for (let j = 0; j < 16; j++) {
        const k = (o + j) * 2;
        if (k >= hex.length) { h += "   "; continue; }
        const b = parseInt(hex.substr(k, 2), 16);
        h += hex.substr(k, 2) + " ";
        a += b >= 32 && b < 127 ? String.fromCharCode(b) : ".";
      }
      s += o.toString(16).padStart(4, "0") + "  " + h + " " + a + "\n";
    }
    return s;
  }

  // ---------- graphs ----------
  const gConn = document.getElementById("gconn"), gKind = document.getElementById("gkind");
  const gc = document.getElementById("gcanvas"), gx = gc.getContext("2d"), tip = document.getElementById("tip"), legend = document.getElementById("legend");
  const tcpConns = conns.map((c, i) => i).filter(i => conns[i].p === "tcp");
  for (const i of tcpConns) gConn.append(el("option", { value: i, text: conns[i].l }));
  if (!tcpConns.length) gConn.append(el("option", { value: "", text: T("no TCP connection") }));
  const kinds = [["tseq", T("time–sequence (tcptrace)")], ["cwnd", T("cwnd, ssthresh, in flight")], ["rtt", T("RTT per ACK, SRTT, RTO")], ["flight", T("bytes in flight")], ["rwnd", T("receive window")], ["tput", T("throughput")]];
  for (const [v, t] of kinds) gKind.append(el("option", { value: v, text: t }));
  let gdir = 0, gzoom = null, gpoints = [], gbreaks = 0, drag = null;
  const gdirSel = el("select", { id: "gdir" }, el("option", { value: 0, text: "A → B data" }), el("option", { value: 1, text: "B → A data" }));
  gKind.after(gdirSel);
  function refreshDirNames() {
    const c = conns[+gConn.value];
    if (!c) return;
    gdirSel.options[0].text = `${c.an || c.a} → ${c.bn || c.b}`;
    gdirSel.options[1].text = `${c.bn || c.b} → ${c.an || c.a}`;
    gdirSel.value = gdir;
  }
  gConn.addEventListener("input", () => { gzoom = null; gdir = bestDir(+gConn.value); drawGraph(); });
  gKind.addEventListener("input", () => { gzoom = null; drawGraph(); });
  gdirSel.addEventListener("input", () => { gdir = +gdirSel.value; gzoom = null; drawGraph(); });
  function bestDir(ci) {
    let b = [0, 0];
    for (let i = 0; i < N; i++) if (PK.c[i] === ci && isTCP(i)) b[PK.dir[i]] += PK.len[i];
    return b[1] > b[0] ? 1 : 0;
  }
  // The hops of a connection counted once per packet: where each was first sent.
  function firstHops(ci) {
    const seen = new Set(), out = [];
    for (let i = 0; i < N; i++) {
      if (PK.c[i] !== ci) continue;
      const id = PK.id[i];
      if (sentAtVantage(i) && seen.has(id)) continue;
      seen.add(id); out.push(i);
    }
    return out;
  }
  function series(ci, dir) {
    // The series of the end that sends in direction dir.
    const c = conns[ci];
    if (!c) return [];
    const senderAddr = dir === 0 ? c.a : c.b;
    // SeriesA is the end whose local address is c.a; parsed when first drawn.
    const k = senderAddr === c.a ? "sa" : "sb";
    if (typeof c[k] === "string") c[k] = JSON.parse(c[k]);
    return c[k] || [];
  }
  // The graph's data, computed again only when what it shows changes.
  let gcache = { key: null, data: null };
  function graphData() {
    const key = `${gConn.value}|${gKind.value}|${gdir}`;
    if (gcache.key !== key) gcache = { key, data: computeGraph() };
    return gcache.data;
  }
  function computeGraph() {
    const ci = +gConn.value, kind = gKind.value, dir = gdir;
    const S = [], P = []; // S: named series {name, colour, pts [[x,y,hop]], step, bars}
    if (!(ci in conns)) return S;
    const fh = firstHops(ci);
    const add = (name, colour, opts) => { const s = Object.assign({ name, colour, pts: [] }, opts || {}); S.push(s); return s; };
    if (kind === "tseq") {
      const data = add(T("data"), "#1565c0", { bars: true }), rtx = add(T("retransmission"), "#e53935", { bars: true });
      const ack = add("ACK", "#2e7d32", { step: true }), win = add(T("window (ACK + rwnd)"), "#f9a825", { step: true, noFit: true }), sack = add(T("SACK blocks"), "#8e24aa", { bars: true });
      let wscale = [0, 0];
      for (const i of fh) {
        if (!isTCP(i)) continue;
        const fl = PK.fl[i], d = PK.dir[i], seq = PK.seq[i], len = PK.len[i];
        if ((fl & F.S) && PK.ws[i] >= 0) wscale[d] = PK.ws[i];
        if (d === dir) {
          if (len > 0 || (fl & (F.S | F.F))) {
            const end = seq + Math.max(1, len);
            (PK.m[i] & 1 ? rtx : data).pts.push([PK.t[i], seq, i, end]);
          }
        } else if (fl & F.A) {
          // ACKs where they reach the sender.
          const tt = PK.ti[i], a = PK.ack[i];
          ack.pts.push([tt, a, i]);
          const sc = fl & F.S ? 0 : wscale[d];
          win.pts.push([tt, a + PK.win[i] * Math.pow(2, sc), i]);
          const sb = M.sack && M.sack[i];
          if (sb) for (const b of sb) sack.pts.push([tt, b[0], i, b[1]]);
        }
      }
      P.unit = T("sequence number (relative)");
      P.fitPad = true;
    } else if (kind === "rtt") {
      // The trace's RTT per ACK (tcp.analysis.ack_rtt): on the hop that
      // brought the ACK to the data's sender.
      const smp = add(T("RTT per ACK"), "#1565c0", { dots: true }), ser = series(ci, dir);
      for (let i = 0; i < N; i++) if (PK.c[i] === ci && PK.dir[i] !== dir && PK.rtt[i] >= 0) smp.pts.push([PK.ti[i], PK.rtt[i] / 1000, i]);
      smp.pts.sort((p, q) => p[0] - q[0]);
      const srtt = add("SRTT", "#2e7d32", { step: true }), rto = add("RTO", "#e53935", { step: true }), rv = add("RTTVAR", "#ef6c00", { step: true });
      for (const p of ser) { if (p[3] > 0) { srtt.pts.push([p[0], p[3] / 1000]); rv.pts.push([p[0], p[4] / 1000]); } rto.pts.push([p[0], p[5] / 1000]); }
      P.unit = T("milliseconds");
    } else if (kind === "cwnd" || kind === "flight" || kind === "rwnd") {
      const ser = series(ci, dir);
      if (kind === "cwnd") {
        const cw = add("cwnd", "#1565c0", { step: true }), ss = add("ssthresh", "#e53935", { step: true }), fl = add(T("in flight"), "#2e7d32", { step: true });
        for (const p of ser) { cw.pts.push([p[0], p[1]]); if (p[2] >= 0) ss.pts.push([p[0], p[2]]); fl.pts.push([p[0], p[6]]); }
      } else if (kind === "flight") {
        const fl = add(T("in flight"), "#2e7d32", { step: true });
        for (const p of ser) fl.pts.push([p[0], p[6]]);
      } else {
        const sw = add(T("peer's receive window (snd_wnd)"), "#8e24aa", { step: true }), rw = add(T("own receive window (rwnd)"), "#6d4c41", { step: true });
        for (const p of ser) { sw.pts.push([p[0], p[8]]); rw.pts.push([p[0], p[7]]); }
        if (!ser.length) { // a foreign capture: the windows advertised on the wire
          for (const i of fh) if (isTCP(i) && PK.dir[i] !== dir) sw.pts.push([PK.t[i], PK.win[i], i]);
        }
      }
      if (!ser.length && kind !== "rwnd") add(T("(no series: this run did not report TCP variables)"), "#9e9e9e");
      P.unit = T("bytes");
      // state bands
      P.bands = [];
      for (let k = 0; k < ser.length; k++) if (ser[k][9] > 0) P.bands.push([ser[k][0], k + 1 < ser.length ? ser[k + 1][0] : ser[k][0], M.states[ser[k][9]]]);
    } else if (kind === "tput") {
      const th = add(T("received payload, Mbit/s"), "#1565c0", { step: true });
      const pts = [];
      for (const i of fh) if (isTCP(i) && PK.dir[i] === dir && PK.len[i] > 0 && PK.i[i] >= 0) pts.push([PK.ti[i], PK.len[i], i]);
      if (pts.length) {
        const t0 = pts[0][0], t1 = pts[pts.length - 1][0], n = Math.min(100, Math.max(1, pts.length >> 1)), bw = Math.max((t1 - t0) / n, 1e-6);
        const bins = new Array(n + 1).fill(0);
        for (const p of pts) bins[Math.min(n, Math.floor((p[0] - t0) / bw))] += p[1];
        bins.forEach((b, k) => th.pts.push([t0 + k * bw, b * 8 / bw / 1e6]));
      }
      P.unit = "Mbit/s";
    }
    S.unit = P.unit; S.bands = P.bands || []; S.fitPad = P.fitPad;
    return S;
  }
  function drawGraph() {
    refreshDirNames();
    const dpr = window.devicePixelRatio || 1, W = gc.clientWidth, H = gc.clientHeight;
    gc.width = W * dpr; gc.height = H * dpr; gx.setTransform(dpr, 0, 0, dpr, 0, 0);
    gx.clearRect(0, 0, W, H);
    const S = graphData();
    legend.replaceChildren(...S.map(s => el("span", {}, el("i", { style: "background:" + s.colour }), s.name + ` (${s.pts.length})`)));
    let x0 = Infinity, x1 = -Infinity, y0 = 0, y1 = -Infinity;
    for (const s of S) for (const p of s.pts) { x0 = Math.min(x0, p[0]); x1 = Math.max(x1, p[0]); if (!s.noFit) y1 = Math.max(y1, p[3] !== undefined ? p[3] : p[1]); if (p[1] < y0) y0 = p[1]; }
    if (!isFinite(y1)) for (const s of S) for (const p of s.pts) y1 = Math.max(y1, p[1]);
    if (S.fitPad && isFinite(y1)) y1 *= 1.15;
    gpoints = [];
    if (!isFinite(x0)) { gx.fillStyle = "#78909c"; gx.fillText(noData, 60, 40); gc.dataset.points = 0; return; }
    if (gzoom) [x0, x1, y0, y1] = gzoom;
    if (x1 <= x0) x1 = x0 + 1e-3;
    if (y1 <= y0) y1 = y0 + 1;
    const L = 70, R = 16, T = 10, B = 24;
    const X = x => L + (x - x0) / (x1 - x0) * (W - L - R), Yg = y => H - B - (y - y0) / (y1 - y0) * (H - T - B);
    gc._tx = { x0, x1, y0, y1, L, R, T, B, W, H };
    gx.font = "11px system-ui, sans-serif";
    for (const b of S.bands) {
      gx.fillStyle = b[2] === "loss" ? "rgba(229,57,53,.12)" : b[2] === "recovery" ? "rgba(239,108,0,.12)" : "rgba(192,202,51,.15)";
      gx.fillRect(X(b[0]), T, Math.max(1, X(b[1]) - X(b[0])), H - T - B);
    }
    // The records the page left out: shaded, and no line drawn across.
    const gap = M.gap;
    if (gap) {
      const gw = Math.max(1, X(gap.t) - X(gap.f)), label = `⋯ ${gap.n} ${notShown} ⋯`;
      gx.fillStyle = "#eceff1"; gx.fillRect(X(gap.f), T, gw, H - T - B);
      gx.font = "11px system-ui, sans-serif";
      if (gx.measureText(label).width < gw - 8) { gx.fillStyle = "#546e7a"; gx.textAlign = "center"; gx.fillText(label, X(gap.f) + gw / 2, T + 16); }
    }
    const across = (p, q) => gap && p[0] < gap.t && q[0] > gap.f; // a step over (part of) it
    gbreaks = 0;
    gx.strokeStyle = "#eceff1"; gx.fillStyle = "#546e7a";
    for (let k = 0; k <= 4; k++) {
      const yv = y0 + (y1 - y0) * k / 4, yy = Yg(yv);
      gx.beginPath(); gx.moveTo(L, yy); gx.lineTo(W - R, yy); gx.stroke();
      gx.textAlign = "right"; gx.fillText(fmtNum(yv), L - 4, yy + 4);
      const xv = x0 + (x1 - x0) * k / 4;
      gx.textAlign = "center"; gx.fillText(xv.toFixed(xv < 10 ? 4 : 2) + " s", X(xv), H - 8);
    }
    gx.save(); gx.translate(12, H / 2); gx.rotate(-Math.PI / 2); gx.textAlign = "center"; gx.fillText(S.unit || "", 0, 0); gx.restore();
    gx.save(); gx.beginPath(); gx.rect(L, T, W - L - R, H - T - B); gx.clip();
    for (const s of S) {
      gx.strokeStyle = s.colour; gx.fillStyle = s.colour; gx.lineWidth = 1.5;
      const pts = s.pts;
      // Only points in the x range (and their neighbours, for the steps).
      let a = Math.max(0, lowerBound(pts, p => p[0], x0) - 1), b = Math.min(pts.length, lowerBound(pts, p => p[0], x1) + 1);
      if (s.step) {
        gx.beginPath();
        for (let k = a; k < b; k++) {
          const p = pts[k];
          if (k === a || across(pts[k - 1], p)) { if (k > a) gbreaks++; gx.moveTo(X(p[0]), Yg(p[1])); }
          else { gx.lineTo(X(p[0]), Yg(pts[k - 1][1])); gx.lineTo(X(p[0]), Yg(p[1])); }
        }
        if (b === pts.length && b > a) gx.lineTo(X(x1), Yg(pts[b - 1][1]));
        gx.stroke();
      }
      // One path per series; a point on the same pixel as the last is drawn once.
      const lines = new Path2D(), heads = new Path2D();
      let lx = NaN, ly = NaN, le = NaN;
      for (let k = a; k < b; k++) {
        const p = pts[k], px = X(p[0]), py = Yg(p[1]), pe = s.bars ? Math.min(Yg(p[3]), py - 2) : py;
        if (px >= L && px <= W - R) gpoints.push([px, s.bars ? Math.min(pe, py) : py, p, s.name]);
        if ((px | 0) === lx && (py | 0) === ly && (pe | 0) === le) continue;
        lx = px | 0; ly = py | 0; le = pe | 0;
        if (s.bars) { lines.moveTo(px, py); lines.lineTo(px, pe); heads.rect(px - 2, pe - 1, 4, 2); }
        else if (s.dots) { heads.moveTo(px + 2.5, py); heads.arc(px, py, 2.5, 0, 7); }
      }
      gx.stroke(lines); gx.fill(heads);
      function pe(p) { return p[3] !== undefined ? Yg(p[3]) : Yg(p[1]); }
    }
    // The selected packet.
    if (selected >= 0 && PK.c[selected] === +gConn.value) {
      const xs = X(PK.t[selected]);
      gx.strokeStyle = "#fbc02d"; gx.lineWidth = 2; gx.beginPath(); gx.moveTo(xs, T); gx.lineTo(xs, H - B); gx.stroke();
    }
    gx.restore();
    if (drag) { gx.fillStyle = "rgba(21,101,192,.15)"; gx.fillRect(Math.min(drag[0], drag[1]), T, Math.abs(drag[1] - drag[0]), H - T - B); }
    gc.dataset.points = gpoints.length;
  }
  function fmtNum(v) { const a = Math.abs(v); return a >= 1e6 ? (v / 1e6).toFixed(2) + "M" : a >= 1e4 ? (v / 1e3).toFixed(1) + "k" : a >= 100 ? v.toFixed(0) : v.toFixed(2); }
  function nearest(mx, my) {
    let best = null, bd = 12;
    for (const g of gpoints) { const d = Math.hypot(g[0] - mx, g[1] - my); if (d < bd) { bd = d; best = g; } }
    return best;
  }
  gc.addEventListener("mousemove", e => {
    const r = gc.getBoundingClientRect(), mx = e.clientX - r.left, my = e.clientY - r.top;
    if (drag) { drag[1] = mx; drawGraph(); return; }
    const g = nearest(mx, my);
    if (!g) { tip.style.display = "none"; return; }
    tip.style.display = "block"; tip.style.left = (g[0] + 10) + "px"; tip.style.top = Math.max(0, g[1] - 24) + "px";
    tip.textContent = `${g[3]}: ${fmtNum(g[2][1])}${g[2][3] !== undefined ? "–" + fmtNum(g[2][3]) : ""} at ${g[2][0].toFixed(6)} s` + (g[2][2] !== undefined ? `  (packet #${PK.id[g[2][2]]})` : "");
  });
  gc.addEventListener("mouseleave", () => { tip.style.display = "none"; });
  gc.addEventListener("mousedown", e => { const r = gc.getBoundingClientRect(); drag = [e.clientX - r.left, e.clientX - r.left]; });
  window.addEventListener("mouseup", e => {
    if (!drag) return;
    const d = drag; drag = null;
    const t = gc._tx;
    if (t && Math.abs(d[1] - d[0]) > 5) {
      const inv = x => t.x0 + (x - t.L) / (t.W - t.L - t.R) * (t.x1 - t.x0);
      const a = inv(Math.min(d[0], d[1])), b = inv(Math.max(d[0], d[1]));
      gzoom = [a, b, t.y0, t.y1];
      // Fit y to what is in range.
      const S = graphData(); let ylo = Infinity, yhi = -Infinity;
      for (const s of S) for (const p of s.pts) if (p[0] >= a && p[0] <= b) { ylo = Math.min(ylo, p[1]); yhi = Math.max(yhi, p[3] !== undefined ? p[3] : p[1]); }
      if (isFinite(ylo)) { const pad = (yhi - ylo) * 0.05 || 1; gzoom[2] = ylo - pad; gzoom[3] = yhi + pad; }
      drawGraph();
      return;
    }
    drawGraph();
    const r = gc.getBoundingClientRect(), g = nearest(e.clientX - r.left, e.clientY - r.top);
    if (g && g[2][2] !== undefined && e.target === gc) select(g[2][2], true);
  });
  gc.addEventListener("dblclick", () => { gzoom = null; drawGraph(); });
  gc.addEventListener("wheel", e => {
    const t = gc._tx; if (!t) return;
    e.preventDefault();
    const r = gc.getBoundingClientRect(), mx = e.clientX - r.left;
    const c = t.x0 + (mx - t.L) / (t.W - t.L - t.R) * (t.x1 - t.x0), f = e.deltaY > 0 ? 1.25 : 0.8;
    gzoom = [c - (c - t.x0) * f, c + (t.x1 - c) * f, t.y0, t.y1];
    drawGraph();
  }, { passive: false });

  // ---------- start ----------
  if (tcpConns.length) { gConn.value = tcpConns[0]; gdir = bestDir(tcpConns[0]); }
  applyFilter();
  times.filtered = performance.now();
  resize();
  times.ladder = performance.now();
  drawGraph();
  times.graph = performance.now();
  // For tests and scripts: what the page holds and shows.
  window.stacklab = {
    hops: N, times, tcpConns: tcpConns.length > 0,
    // The ladder's head as drawn: lifelines, host names, labels' column.
    geometry: () => ({ width: ladder.clientWidth, top: TOP, labelX, cols: hosts.map((_, i) => colX(i)), names }),
    select: i => select(i, true), selected: () => selected, rttHops: data => { let n = 0; for (let i = 0; i < N; i++) if (PK.rtt[i] >= 0 && (!data || PK.c[i] === +gConn.value && PK.dir[i] !== gdir)) n++; return n; },
    firstRTT: () => { for (let i = 0; i < N; i++) if (PK.rtt[i] >= 0) return i; return -1; }, drawn: () => drawn, graphPoints: () => gpoints.length,
    // The records left out, and the graph's lines broken across them.
    gap: M.gap || null, graphBreaks: () => gbreaks,
    // Where hop i's label is on screen, scrolled into view first.
    point: i => {
      const y = Y(PK.y1[i]);
      if (y < ladder.scrollTop + TOP + 10 || y > ladder.scrollTop + ladder.clientHeight - 20) { ladder.scrollTop = y - ladder.clientHeight / 2; drawLadder(); }
      const r = ladder.getBoundingClientRect();
      return [r.left + labelX + 40 - ladder.scrollLeft, r.top + y - ladder.scrollTop];
    },
  };
  // Milliseconds from the start of navigation until the page is drawn.
  window.stacklab.openMs = performance.now();
  document.body.dataset.ready = "1";
  // The first packets' records next, so that a first click finds them ready.
  setTimeout(() => loadRecs([0]).then(() => { times.records = performance.now(); document.body.dataset.records = "1"; }), 0);
})().catch(e => { console.error("stacklab page: " + (e && e.stack || e)); });
